/**
 * The console app: a header with the cluster's identity, a menu, and one page per location hash
 * (#/topics, #/topics/NAME, #/groups, #/transactions, #/brokers, #/acls, #/schemas). Hash
 * routing keeps every page one file for the broker to serve.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { ConsoleOverview } from '../src/console-api.ts';
import { postJson, useApi } from './api.ts';
import { AclsPage } from './acls-page.tsx';
import { BrokersPage } from './brokers-page.tsx';
import { GroupsPage } from './groups-page.tsx';
import { LoginPage } from './login-page.tsx';
import { MessagesPage } from './messages-page.tsx';
import { SchemasPage } from './schemas-page.tsx';
import { TopicsPage } from './topics-page.tsx';
import { TransactionsPage } from './transactions-page.tsx';
import './styles.css';

const pages = [
  ['topics', 'Topics'],
  ['groups', 'Consumer groups'],
  ['transactions', 'Transactions'],
  ['brokers', 'Brokers'],
  ['acls', 'ACLs'],
  ['schemas', 'Schemas'],
] as const;

function readHash(): string[] {
  return window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
}

function useHash(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const update = () => setParts(readHash());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return parts;
}

function App() {
  const overview = useApi<ConsoleOverview>('/api/overview');
  const [page = 'topics', name] = useHash();
  const info = overview.data;
  const readOnly = info?.readOnly ?? true;
  const refreshMs = Math.max(1000, info?.sampleIntervalMs ?? 5000);
  return (
    <>
      <header>
        <strong>Tributary</strong>
        {info === undefined ? null : (
          <span className="identity" data-testid="identity">
            cluster {info.clusterId} · node {info.nodeId} · {info.mode}
            {info.readOnly ? ' · read-only' : ''}
          </span>
        )}
        {info === undefined || info.user === null ? null : (
          <span className="identity">
            <span data-testid="user">{info.user}</span>{' '}
            <button
              type="button"
              data-testid="logout"
              onClick={() => void postJson('/api/logout', {}).then(overview.reload)}
            >
              Sign out
            </button>
          </span>
        )}
        <nav>
          {pages.map(([id, title]) => (
            <a key={id} href={`#/${id}`} className={page === id ? 'active' : ''}>
              {title}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {info?.login === true && info.user === null ? (
          <LoginPage onLogin={overview.reload} />
        ) : page === 'topics' && name !== undefined && name !== '' ? (
          <MessagesPage topic={name} readOnly={readOnly} />
        ) : page === 'groups' ? (
          <GroupsPage readOnly={readOnly} refreshMs={refreshMs} />
        ) : page === 'transactions' ? (
          <TransactionsPage />
        ) : page === 'brokers' ? (
          <BrokersPage />
        ) : page === 'acls' ? (
          <AclsPage />
        ) : page === 'schemas' ? (
          <SchemasPage enabled={info?.schemaRegistry ?? false} />
        ) : (
          <TopicsPage readOnly={readOnly} refreshMs={refreshMs} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('root');
if (root !== null) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
