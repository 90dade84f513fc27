/** The ACL bindings stored in the metadata (CreateAcls / kafka-acls). */
import type { AclEntry } from '../src/console-api.ts';
import { useApi } from './api.ts';

export function AclsPage() {
  const acls = useApi<AclEntry[]>('/api/acls');
  return (
    <section>
      <h1>ACLs</h1>
      {acls.error === undefined ? null : <p className="error">{acls.error}</p>}
      {acls.data?.length === 0 ? <p>No ACLs.</p> : null}
      <table data-testid="acls-table">
        <thead>
          <tr>
            <th>Principal</th>
            <th>Host</th>
            <th>Permission</th>
            <th>Operation</th>
            <th>Resource</th>
            <th>Name</th>
            <th>Pattern</th>
          </tr>
        </thead>
        <tbody>
          {(acls.data ?? []).map((acl, index) => (
            <tr key={index} data-testid="acl-row">
              <td>{acl.principal}</td>
              <td>{acl.host}</td>
              <td>{acl.permission}</td>
              <td>{acl.operation}</td>
              <td>{acl.resourceType}</td>
              <td>{acl.resourceName}</td>
              <td>{acl.patternType}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
