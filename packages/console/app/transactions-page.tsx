/** Transactions the coordinator knows: state, producer, partitions in the open transaction. */
import type { TransactionSummary } from '../src/console-api.ts';
import { useApi } from './api.ts';

export function TransactionsPage() {
  const transactions = useApi<TransactionSummary[]>('/api/transactions', 5000);
  return (
    <section>
      <h1>Transactions</h1>
      {transactions.error === undefined ? null : <p className="error">{transactions.error}</p>}
      <table data-testid="transactions-table">
        <thead>
          <tr>
            <th>Transactional id</th>
            <th>State</th>
            <th>Producer</th>
            <th>Epoch</th>
            <th>Timeout</th>
            <th>Started</th>
            <th>Partitions</th>
          </tr>
        </thead>
        <tbody>
          {(transactions.data ?? []).map((entry) => (
            <tr key={entry.transactionalId} data-testid="transaction-row">
              <td>{entry.transactionalId}</td>
              <td>{entry.state}</td>
              <td className="num">{entry.producerId}</td>
              <td className="num">{entry.producerEpoch}</td>
              <td className="num">{entry.timeoutMs} ms</td>
              <td>{entry.startTimeMs > 0 ? new Date(entry.startTimeMs).toISOString() : '—'}</td>
              <td>
                {entry.partitions
                  .map((topic) => `${topic.topic} [${topic.partitions.join(', ')}]`)
                  .join('; ') || '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
