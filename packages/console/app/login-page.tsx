/** The sign-in form of a console with console.login=scram: a SCRAM user's name and password. */
import { useState } from 'react';
import type { ActionResult, LoginRequest } from '../src/console-api.ts';
import { postJson } from './api.ts';

export function LoginPage(props: { onLogin: () => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <section>
      <h1>Sign in</h1>
      <form
        className="login"
        onSubmit={(event) => {
          event.preventDefault();
          const request: LoginRequest = { user, password };
          postJson<ActionResult>('/api/login', request).then(props.onLogin, (reason: unknown) =>
            setError(reason instanceof Error ? reason.message : 'failed'),
          );
        }}
      >
        <label>
          User{' '}
          <input
            value={user}
            data-testid="login-user"
            autoComplete="username"
            onChange={(event) => setUser(event.target.value)}
          />
        </label>
        <label>
          Password{' '}
          <input
            type="password"
            value={password}
            data-testid="login-password"
            autoComplete="current-password"
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <button type="submit" data-testid="login-submit">
          Sign in
        </button>
        {error === undefined ? null : (
          <p className="error" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
