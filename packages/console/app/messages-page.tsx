/** Browse a partition's records (key, value decoded by schema, headers); delete records. */
import { useState } from 'react';
import type {
  ActionResult,
  BrowsedMessage,
  BrowseResult,
  TopicSummary,
} from '../src/console-api.ts';
import { postJson, useApi } from './api.ts';
import { ConfirmButton } from './confirm-button.tsx';

export function MessagesPage(props: { topic: string; readOnly: boolean }) {
  const topics = useApi<TopicSummary[]>('/api/topics');
  const topic = topics.data?.find((candidate) => candidate.name === props.topic);
  const [partition, setPartition] = useState(0);
  const [offset, setOffset] = useState('');
  const query = `partition=${partition}&limit=50${offset === '' ? '' : `&offset=${offset}`}`;
  const path = `/api/topics/${encodeURIComponent(props.topic)}/messages?${query}`;
  const browse = useApi<BrowseResult>(path);
  return (
    <section>
      <h1>Messages of {props.topic}</h1>
      <div className="controls">
        <label>
          Partition{' '}
          <select
            value={partition}
            data-testid="browse-partition"
            onChange={(event) => setPartition(Number(event.target.value))}
          >
            {(topic?.partitions ?? [{ partition: 0 }]).map((entry) => (
              <option key={entry.partition} value={entry.partition}>
                {entry.partition}
              </option>
            ))}
          </select>
        </label>
        <label>
          From offset{' '}
          <input
            value={offset}
            placeholder="latest 50"
            data-testid="browse-offset"
            onChange={(event) => setOffset(event.target.value.replace(/\D/g, ''))}
          />
        </label>
        <button type="button" onClick={browse.reload}>
          Refresh
        </button>
        {browse.data === undefined ? null : (
          <span data-testid="browse-range">
            offsets {browse.data.logStartOffset} – {browse.data.highWatermark}
          </span>
        )}
      </div>
      {browse.error === undefined ? null : <p className="error">{browse.error}</p>}
      <table data-testid="messages-table">
        <thead>
          <tr>
            <th>Offset</th>
            <th>Time</th>
            <th>Key</th>
            <th>Value</th>
            <th>Headers</th>
          </tr>
        </thead>
        <tbody>
          {(browse.data?.messages ?? []).map((message) => (
            <MessageRow key={message.offset} message={message} />
          ))}
        </tbody>
      </table>
      {props.readOnly || browse.data === undefined ? null : (
        <DeleteRecords
          topic={props.topic}
          partition={partition}
          highWatermark={browse.data.highWatermark}
          onDone={browse.reload}
        />
      )}
    </section>
  );
}

function MessageRow(props: { message: BrowsedMessage }) {
  const { message } = props;
  return (
    <tr data-testid="message-row">
      <td className="num">{message.offset}</td>
      <td>{new Date(message.timestamp).toISOString()}</td>
      <td>
        <code>{message.key.text ?? 'null'}</code>
      </td>
      <td>
        {message.schemaId === undefined ? null : (
          <span className="badge">schema {message.schemaId}</span>
        )}
        {message.value.encoding === 'base64' ? <span className="badge">base64</span> : null}
        <pre>{message.value.text ?? 'null'}</pre>
        {message.decodeError === undefined ? null : (
          <span className="error">{message.decodeError}</span>
        )}
      </td>
      <td>
        {message.headers.map((header, index) => (
          <div key={index}>
            <code>
              {header.key}={header.value ?? 'null'}
            </code>
          </div>
        ))}
      </td>
    </tr>
  );
}

function DeleteRecords(props: {
  topic: string;
  partition: number;
  highWatermark: number;
  onDone: () => void;
}) {
  const [before, setBefore] = useState('');
  const [result, setResult] = useState<string | undefined>(undefined);
  return (
    <fieldset className="action">
      <legend>Delete records</legend>
      <input
        placeholder={`before offset (≤ ${props.highWatermark})`}
        value={before}
        data-testid="delete-before"
        onChange={(event) => setBefore(event.target.value.replace(/\D/g, ''))}
      />
      <ConfirmButton
        label="Delete…"
        confirmLabel="Delete records"
        testId="delete-records"
        disabled={before === ''}
        onConfirm={async () => {
          try {
            const answer = await postJson<ActionResult>(
              `/api/topics/${encodeURIComponent(props.topic)}/delete-records`,
              { partition: props.partition, beforeOffset: Number(before) },
            );
            setResult(answer.message);
            props.onDone();
          } catch (error: unknown) {
            setResult(error instanceof Error ? error.message : 'failed');
          }
        }}
      >
        <p>
          Delete every record of {props.topic}-{props.partition} below offset {before}? This cannot
          be undone.
        </p>
      </ConfirmButton>
      {result === undefined ? null : <p data-testid="delete-records-result">{result}</p>}
    </fieldset>
  );
}
