/** The server's name when `--name` is not given: derived from the command line or the upstream URL. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverNameFromCommand, serverNameFromUrl } from './identity.ts';

void test('a command names the server by the first argument past the launchers and their options', () => {
  const cases: [string[], string][] = [
    [['npx', '-y', '@modelcontextprotocol/server-everything'], '@modelcontextprotocol/server-everything'],
    [
      ['npx', '-y', '@modelcontextprotocol/server-filesystem@2025.8.21', '/notes'],
      '@modelcontextprotocol/server-filesystem',
    ],
    [['python3', 'server.py'], 'server'],
    [['uvx', 'mcp-server-fetch'], 'mcp-server-fetch'],
    [['uv', 'run', '--from', 'pkg', 'weather.py'], 'weather'],
    [['java', '-cp', 'a.jar:b.jar', 'PoisonedServer'], 'PoisonedServer'],
    [['docker', 'run', '-i', '--rm', '-e', 'TOKEN', 'ghcr.io/github/github-mcp-server'], 'github-mcp-server'],
    [['/usr/local/bin/node18', '/srv/mcp/dist/main.js'], 'main'],
    [['./my-server'], 'my-server'],
  ];
  for (const [[command, ...args], name] of cases)
    assert.equal(serverNameFromCommand(command!, args), name, [command, ...args].join(' '));
});

void test('an upstream URL names the server by host, port and path, without credentials or query', () => {
  assert.equal(serverNameFromUrl(new URL('https://mcp.example.com/mcp')), 'mcp.example.com/mcp');
  assert.equal(
    serverNameFromUrl(new URL('http://user:secret@127.0.0.1:8080/v1/mcp/?key=abc')),
    '127.0.0.1:8080/v1/mcp',
  );
  assert.equal(serverNameFromUrl(new URL('https://mcp.example.com/')), 'mcp.example.com');
});
