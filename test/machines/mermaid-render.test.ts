// The README's diagram must not only match the machine but also render: Mermaid itself (the library
// GitHub uses for ```mermaid blocks), loaded from node_modules into headless Chromium, draws it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMachine, mdSessionMachine, sessionMachine } from '../../machines/index.ts';
import { readmeDiagram } from '../../scripts/readme-diagram.ts';
import { launchChromium } from '../support/browser.ts';

const mermaidBundle = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

describe('the README diagram in Mermaid', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    ['session', sessionMachine],
    ['md-session', mdSessionMachine],
  ] as const)(
    'renders the %s diagram with every state of its machine and no error',
    async (name, machine) => {
      const text = readmeDiagram(await readFile(new URL('../../README.md', import.meta.url), 'utf8'), name);
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html><body><div id="out"></div></body></html>');
      await page.addScriptTag({ path: mermaidBundle });
      const result = await page.evaluate(async (source) => {
        const mermaid = (
          globalThis as unknown as {
            mermaid: {
              initialize(o: object): void;
              render(id: string, text: string): Promise<{ svg: string }>;
            };
          }
        ).mermaid;
        mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
        try {
          const { svg } = await mermaid.render('diagram', source);
          return { svg, error: null };
        } catch (error) {
          return { svg: '', error: String((error as Error).message ?? error) };
        }
      }, text);
      expect(result.error).toBeNull();
      expect(result.svg).not.toContain('Syntax error');
      const leaves = describeMachine(machine).states.filter((s) => s.children.length === 0);
      for (const state of leaves) expect(result.svg, state.path).toContain(`>${state.key}<`);
      // A broken diagram is reported, so the check above can fail.
      const broken = await page.evaluate(async () => {
        const mermaid = (
          globalThis as unknown as { mermaid: { render(id: string, text: string): Promise<unknown> } }
        ).mermaid;
        return mermaid.render('broken', 'stateDiagram-v2\n  a --> : : {').then(
          () => 'rendered',
          () => 'rejected',
        );
      });
      expect(broken).toBe('rejected');
    },
    60_000,
  );
});
