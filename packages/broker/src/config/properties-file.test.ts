import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProperties, PropertiesSyntaxError } from './properties-file.ts';

const pairs = (text: string): [string, string][] =>
  parseProperties(text).map((entry) => [entry.key, entry.value]);

describe('parseProperties (java.util.Properties)', () => {
  it('skips # and ! comments and blank lines, keeps the line of each entry', () => {
    const text = '# Kafka\n\n! also a comment\n   # indented comment\nnum.partitions=4\n';
    assert.deepEqual(parseProperties(text), [{ key: 'num.partitions', value: '4', line: 5 }]);
  });

  it('takes =, : or blanks as the separator, with blanks around it dropped', () => {
    const text = 'a=1\nb = 2\nc: 3\nd 4\n  e\t=\t5\nf=\ng\n';
    assert.deepEqual(pairs(text), [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
      ['f', ''],
      ['g', ''],
    ]);
  });

  it('keeps trailing blanks of a value and separators after the first', () => {
    assert.deepEqual(pairs('listeners=PLAINTEXT://h:9092 \nurl=a=b:c\n'), [
      ['listeners', 'PLAINTEXT://h:9092 '],
      ['url', 'a=b:c'],
    ]);
  });

  it('joins continuation lines and drops their leading blanks', () => {
    const text = 'log.cleanup.policy=delete,\\\n    compact\nnext=1\n';
    assert.deepEqual(parseProperties(text), [
      { key: 'log.cleanup.policy', value: 'delete,compact', line: 1 },
      { key: 'next', value: '1', line: 3 },
    ]);
  });

  it('does not continue a line ending in an escaped backslash', () => {
    assert.deepEqual(pairs('dir=C:\\\\\nnext=1\n'), [
      ['dir', 'C:\\'],
      ['next', '1'],
    ]);
  });

  it('unescapes \\t \\n \\uXXXX and escaped separators in keys', () => {
    assert.deepEqual(pairs('a\\=b\\:c\\ d=x\\ty\\u0041\\z\n'), [['a=b:c d', 'x\tyAz']]);
  });

  it('accepts CRLF and CR line ends', () => {
    assert.deepEqual(pairs('a=1\r\nb=2\rc=3'), [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  it('reports a malformed \\u escape with its line', () => {
    assert.throws(
      () => parseProperties('ok=1\nbad=\\u12G4\n'),
      (error: unknown) => error instanceof PropertiesSyntaxError && error.line === 2,
    );
  });
});
