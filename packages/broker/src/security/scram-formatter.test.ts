import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { test } from 'node:test';
import { scramKeys, scramMechanismOf } from './scram-formatter.ts';

// RFC 7677 section 3: SCRAM-SHA-256 for user "user", password "pencil".
const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const authMessage =
  'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const clientProof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
const serverSignature = '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

test('StoredKey and ServerKey reproduce RFC 7677 exchange', () => {
  const mechanism = scramMechanismOf(1);
  assert.ok(mechanism !== undefined);
  const saltedPassword = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
  const { storedKey, serverKey } = scramKeys(mechanism, saltedPassword);
  // The server proves itself with ServerKey alone.
  const signature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
  assert.equal(signature, serverSignature);
  // It verifies the client with StoredKey alone: ClientKey = proof XOR HMAC(StoredKey, message).
  const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
  const clientKey = Buffer.from(clientProof.map((byte, i) => byte ^ (clientSignature[i] ?? 0)));
  assert.deepEqual(createHash('sha256').update(clientKey).digest(), storedKey);
});

test('only SCRAM-SHA-256 (1) and SCRAM-SHA-512 (2) are mechanisms', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((code) => scramMechanismOf(code)?.name),
    [undefined, 'SCRAM-SHA-256', 'SCRAM-SHA-512', undefined],
  );
});
