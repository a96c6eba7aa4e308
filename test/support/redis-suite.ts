// A real redis-server and an ioredis client for the tests of one describe: started before them (within
// 20 s), disconnected and removed after.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedis } from './redis.ts';

export interface SuiteRedis {
  readonly server: RedisServer;
  readonly redis: Redis;
}

/** Call inside a describe; read `.redis` (and `.server`) in its tests. */
export function redisForSuite(): SuiteRedis {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    redis?.disconnect();
    await server?.remove();
  });
  return {
    get server() {
      if (!server) throw new Error('redis-server is not up (redisForSuite runs in beforeAll)');
      return server;
    },
    get redis() {
      if (!redis) throw new Error('redis-server is not up (redisForSuite runs in beforeAll)');
      return redis;
    },
  };
}
