/** Consumer groups: state, lag in records and seconds, a lag chart, members; offset reset. */
import { useState } from 'react';
import type { GroupSummary, ResetOffsetsResult, ResetTarget } from '../src/console-api.ts';
import { postJson, useApi } from './api.ts';
import { LineChart } from './charts.tsx';

export function GroupsPage(props: { readOnly: boolean; refreshMs: number }) {
  const groups = useApi<GroupSummary[]>('/api/groups', props.refreshMs);
  return (
    <section>
      <h1>Consumer groups</h1>
      {groups.error === undefined ? null : <p className="error">{groups.error}</p>}
      {groups.data?.length === 0 ? <p>No groups.</p> : null}
      {(groups.data ?? []).map((group) => (
        <Group
          key={group.groupId}
          group={group}
          readOnly={props.readOnly}
          onChange={groups.reload}
        />
      ))}
    </section>
  );
}

function Group(props: { group: GroupSummary; readOnly: boolean; onChange: () => void }) {
  const { group } = props;
  return (
    <article className="group" data-testid={`group-${group.groupId}`}>
      <h2>
        {group.groupId}{' '}
        <span className="badge" data-testid="group-state">
          {group.state}
        </span>
      </h2>
      <p>
        Lag <b data-testid="group-lag">{group.totalLag}</b> records, oldest unconsumed{' '}
        <b data-testid="group-lag-seconds">{group.maxLagSeconds.toFixed(1)}</b> s ·{' '}
        {group.members.length} member(s) · {group.protocolType} {group.protocol}
      </p>
      <LineChart
        title={`${group.groupId} lag`}
        series={[
          {
            name: 'lag (records)',
            color: '#1f6feb',
            values: group.lagHistory.map((sample) => ({ x: sample.atMs, y: sample.lag })),
          },
          {
            name: 'lag (seconds)',
            color: '#d73a49',
            values: group.lagHistory.map((sample) => ({ x: sample.atMs, y: sample.lagSeconds })),
          },
        ]}
      />
      <OffsetsTable group={group} />
      <MembersTable group={group} />
      {props.readOnly ? null : <ResetOffsets group={group} onDone={props.onChange} />}
    </article>
  );
}

function OffsetsTable(props: { group: GroupSummary }) {
  const { group } = props;
  return (
    <table>
      <thead>
        <tr>
          <th>Topic</th>
          <th>Partition</th>
          <th>Committed</th>
          <th>End</th>
          <th>Lag</th>
          <th>Lag (s)</th>
        </tr>
      </thead>
      <tbody>
        {group.offsets.map((entry) => (
          <tr key={`${entry.topic}-${entry.partition}`} data-testid="group-offset-row">
            <td>{entry.topic}</td>
            <td className="num">{entry.partition}</td>
            <td className="num">{entry.committedOffset}</td>
            <td className="num">{entry.endOffset}</td>
            <td className="num">{entry.lag}</td>
            <td className="num">{entry.lagSeconds.toFixed(1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MembersTable(props: { group: GroupSummary }) {
  const { group } = props;
  return (
    <>
      <h3>Members</h3>
      {group.members.length === 0 ? (
        <p>None (the group is empty).</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Member</th>
              <th>Client</th>
              <th>Host</th>
              <th>Assignment</th>
            </tr>
          </thead>
          <tbody>
            {group.members.map((member) => (
              <tr key={member.memberId}>
                <td>
                  <code>{member.memberId}</code>
                </td>
                <td>{member.clientId}</td>
                <td>{member.clientHost}</td>
                <td>
                  {member.assignment
                    .map((entry) => `${entry.topic} [${entry.partitions.join(', ')}]`)
                    .join('; ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function ResetOffsets(props: { group: GroupSummary; onDone: () => void }) {
  const topics = [...new Set(props.group.offsets.map((entry) => entry.topic))];
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState<ResetTarget>('earliest');
  const [value, setValue] = useState('');
  const [plan, setPlan] = useState<ResetOffsetsResult | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const empty = props.group.state === 'Empty';
  const request = (dryRun: boolean) => ({
    topic,
    to,
    dryRun,
    ...(to === 'offset' || to === 'timestamp' ? { value: Number(value) } : {}),
  });
  const path = `/api/groups/${encodeURIComponent(props.group.groupId)}/reset-offsets`;
  const run = async (dryRun: boolean) => {
    try {
      const answer = await postJson<ResetOffsetsResult>(path, request(dryRun));
      setPlan(answer.applied ? undefined : answer);
      setMessage(
        answer.applied ? `offsets reset on ${answer.plan.length} partition(s)` : undefined,
      );
      if (answer.applied) props.onDone();
    } catch (error: unknown) {
      setMessage(error instanceof Error ? error.message : 'failed');
    }
  };
  return (
    <fieldset className="action">
      <legend>Reset offsets</legend>
      {empty ? null : <p>Only an empty group (no members) can be reset: stop its consumers.</p>}
      <input
        placeholder="topic"
        value={topic}
        data-testid="reset-topic"
        onChange={(event) => setTopic(event.target.value)}
      />
      <select
        value={to}
        data-testid="reset-to"
        onChange={(event) => setTo(event.target.value as ResetTarget)}
      >
        <option value="earliest">earliest</option>
        <option value="latest">latest</option>
        <option value="offset">offset</option>
        <option value="timestamp">timestamp (ms)</option>
      </select>
      {to === 'offset' || to === 'timestamp' ? (
        <input
          value={value}
          data-testid="reset-value"
          onChange={(event) => setValue(event.target.value.replace(/\D/g, ''))}
        />
      ) : null}
      <button
        type="button"
        disabled={!empty || topic === ''}
        data-testid="reset-dry-run"
        onClick={() => void run(true)}
      >
        Dry run
      </button>
      {plan === undefined ? null : (
        <ResetPlan
          plan={plan}
          onApply={() => void run(false)}
          onCancel={() => setPlan(undefined)}
        />
      )}
      {message === undefined ? null : <p data-testid="reset-result">{message}</p>}
    </fieldset>
  );
}

/** The dry run's answer, to confirm: current and new offset per partition. */
function ResetPlan(props: { plan: ResetOffsetsResult; onApply: () => void; onCancel: () => void }) {
  return (
    <div className="confirm" role="dialog">
      <table data-testid="reset-plan">
        <thead>
          <tr>
            <th>Partition</th>
            <th>Current</th>
            <th>New</th>
          </tr>
        </thead>
        <tbody>
          {props.plan.plan.map((entry) => (
            <tr key={entry.partition}>
              <td className="num">{entry.partition}</td>
              <td className="num">{entry.current ?? '—'}</td>
              <td className="num">{entry.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="danger" data-testid="reset-apply" onClick={props.onApply}>
        Apply these offsets
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}
