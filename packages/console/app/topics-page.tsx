/** Topics: partitions, offsets, sizes, retention, schema subject, throughput; create a topic. */
import { useState } from 'react';
import type { ActionResult, TopicSummary } from '../src/console-api.ts';
import { formatBytes, formatMs, postJson, useApi } from './api.ts';
import { Sparkline } from './charts.tsx';
import { ConfirmButton } from './confirm-button.tsx';

export function TopicsPage(props: { readOnly: boolean; refreshMs: number }) {
  const topics = useApi<TopicSummary[]>('/api/topics', props.refreshMs);
  const [showInternal, setShowInternal] = useState(false);
  const shown = (topics.data ?? []).filter((topic) => showInternal || !topic.internal);
  return (
    <section>
      <h1>Topics</h1>
      {topics.error === undefined ? null : <p className="error">{topics.error}</p>}
      <label>
        <input
          type="checkbox"
          checked={showInternal}
          onChange={(event) => setShowInternal(event.target.checked)}
        />
        show internal topics
      </label>
      <table data-testid="topics-table">
        <thead>
          <tr>
            <th>Topic</th>
            <th>Partitions</th>
            <th>Records</th>
            <th>Size</th>
            <th>Retention</th>
            <th>Cleanup</th>
            <th>Schema</th>
            <th>Throughput (rec/s)</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((topic) => (
            <tr key={topic.name} data-testid={`topic-${topic.name}`}>
              <td>
                <a href={`#/topics/${encodeURIComponent(topic.name)}`}>{topic.name}</a>
              </td>
              <td className="num">{topic.partitions.length}</td>
              <td className="num" data-testid="topic-records">
                {topic.records}
              </td>
              <td className="num">{formatBytes(topic.sizeBytes)}</td>
              <td>
                {formatMs(topic.retentionMs)}
                {topic.retentionBytes !== '' && topic.retentionBytes !== '-1'
                  ? ` / ${formatBytes(Number(topic.retentionBytes))}`
                  : ''}
              </td>
              <td>{topic.cleanupPolicy}</td>
              <td>
                {topic.schemaSubject === undefined ? (
                  '—'
                ) : (
                  <a href="#/schemas">{topic.schemaSubject}</a>
                )}
              </td>
              <td>
                <Sparkline values={topic.throughput} label={`${topic.name} throughput`} />
                <span className="num">{(topic.throughput.at(-1) ?? 0).toFixed(1)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.readOnly ? null : <CreateTopic onDone={topics.reload} />}
    </section>
  );
}

function CreateTopic(props: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState(1);
  const [retentionMs, setRetentionMs] = useState('');
  const [result, setResult] = useState<string | undefined>(undefined);
  const configs: Record<string, string> = retentionMs === '' ? {} : { 'retention.ms': retentionMs };
  return (
    <fieldset className="action">
      <legend>Create topic</legend>
      <input
        placeholder="name"
        value={name}
        data-testid="create-topic-name"
        onChange={(event) => setName(event.target.value)}
      />
      <input
        type="number"
        min={1}
        value={partitions}
        data-testid="create-topic-partitions"
        onChange={(event) => setPartitions(Number(event.target.value))}
      />
      <input
        placeholder="retention.ms (default)"
        value={retentionMs}
        onChange={(event) => setRetentionMs(event.target.value)}
      />
      <ConfirmButton
        label="Create…"
        confirmLabel="Create"
        testId="create-topic"
        disabled={name === ''}
        onConfirm={async () => {
          try {
            const answer = await postJson<ActionResult>('/api/topics', {
              name,
              partitions,
              configs,
            });
            setResult(answer.message);
            props.onDone();
          } catch (error: unknown) {
            setResult(error instanceof Error ? error.message : 'failed');
          }
        }}
      >
        <p>
          Create topic <b>{name}</b> with {partitions} partition(s)
          {retentionMs === '' ? '' : `, retention.ms=${retentionMs}`}?
        </p>
      </ConfirmButton>
      {result === undefined ? null : <p data-testid="create-topic-result">{result}</p>}
    </fieldset>
  );
}
