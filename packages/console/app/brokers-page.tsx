/** The brokers of the cluster (one when embedded) and the partitions each leads. */
import type { BrokersView } from '../src/console-api.ts';
import { useApi } from './api.ts';

export function BrokersPage() {
  const view = useApi<BrokersView>('/api/brokers', 5000);
  return (
    <section>
      <h1>Brokers</h1>
      {view.error === undefined ? null : <p className="error">{view.error}</p>}
      {view.data === undefined ? null : (
        <p>
          Controller {view.data.controllerId}
          {view.data.leaseMs === undefined
            ? ' · embedded (no leases)'
            : ` · partition leases of ${view.data.leaseMs} ms`}
        </p>
      )}
      <table data-testid="brokers-table">
        <thead>
          <tr>
            <th>Node</th>
            <th>Host</th>
            <th>Port</th>
            <th>Rack</th>
            <th>Leads partitions</th>
          </tr>
        </thead>
        <tbody>
          {(view.data?.brokers ?? []).map((broker) => (
            <tr key={broker.nodeId} data-testid="broker-row">
              <td className="num">{broker.nodeId}</td>
              <td>{broker.host}</td>
              <td className="num">{broker.port}</td>
              <td>{broker.rack ?? '—'}</td>
              <td className="num">{broker.leaderOf}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
