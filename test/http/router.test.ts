// The route table the emulator's server is made of: first match wins, other methods get 405 naming the
// allowed ones, and nothing matching is a 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { dispatch, HttpError, otherMethods, type Route, route } from '../../http/index.ts';

const request = (method: string, url: string) => ({ method, url }) as IncomingMessage;
const response = {} as ServerResponse;

describe('dispatch', () => {
  const seen: string[] = [];
  const PHONE = /^\/phones\/(\d+)(?:\/(sent))?$/;
  const routes: Route[] = [
    route('GET', PHONE, ({ params, url }) => {
      seen.push(`get ${params.join('|')} ${url.searchParams.get('q')}`);
    }),
    route('PUT', PHONE, () => {
      seen.push('put');
    }),
    otherMethods(PHONE, ['GET', 'PUT']),
    otherMethods(/^\/faults$/, ['GET', 'POST', 'DELETE']),
    otherMethods(/^\/once$/, ['POST']),
  ];

  it('runs the first route whose method and path match, with the capture groups', async () => {
    await dispatch(routes, request('GET', '/phones/49151?q=x'), response);
    await dispatch(routes, request('GET', '/phones/49151/sent'), response);
    await dispatch(routes, request('PUT', '/phones/1'), response);
    expect(seen).toEqual(['get 49151| x', 'get 49151|sent null', 'put']);
  });

  it('answers other methods 405 with the allowed ones, and unknown paths 404', async () => {
    const failure = (method: string, url: string) =>
      dispatch(routes, request(method, url), response).then(
        () => null,
        (error: HttpError) => [error.status, error.message],
      );
    expect(await failure('DELETE', '/phones/1')).toEqual([405, 'use GET or PUT']);
    expect(await failure('PATCH', '/faults')).toEqual([405, 'use GET, POST or DELETE']);
    expect(await failure('GET', '/once')).toEqual([405, 'use POST']);
    expect(await failure('GET', '/nothing')).toEqual([404, 'no route for GET /nothing']);
    await expect(dispatch(routes, request('GET', '/nothing'), response)).rejects.toBeInstanceOf(HttpError);
  });
});
