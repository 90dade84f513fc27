/** ssl.principal.mapping.rules as Kafka's SslPrincipalMapper documents them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SslPrincipalMapper } from './ssl-principal-mapper.ts';

test('DEFAULT keeps the DN', () => {
  const mapper = SslPrincipalMapper.parse('DEFAULT');
  assert.equal(mapper.nameOf('CN=app,OU=eng,O=Acme'), 'CN=app,OU=eng,O=Acme');
});

test("Kafka's documented examples", () => {
  const mapper = SslPrincipalMapper.parse(
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),' +
      'C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT',
  );
  assert.equal(mapper.nameOf('CN=kafka-admin,OU=ServiceUsers,O=Acme'), 'kafka-admin');
  assert.equal(mapper.nameOf('CN=Duke,OU=JavaSoft,O=Sun,L=SC,ST=CA,C=US'), 'duke@javasoft');
  assert.equal(mapper.nameOf('OU=X,CN=Host.Example'), 'host.example');
  assert.equal(mapper.nameOf('O=NoCommonName'), 'O=NoCommonName');
});

test('U upper-cases; escaped slashes; no matching rule throws', () => {
  const mapper = SslPrincipalMapper.parse('RULE:^CN=([^,]*)\\/x,.*$/$1\\/y/U');
  assert.equal(mapper.nameOf('CN=ab/x,O=Z'), 'AB/Y');
  assert.throws(() => mapper.nameOf('O=Z'), /no ssl.principal.mapping.rules rule matches/);
  assert.throws(() => SslPrincipalMapper.parse('RULE:broken'), /invalid rule/);
});
