/** Schema subjects with their versions, and a line diff between two versions. */
import { useState } from 'react';
import type { SubjectView } from '../src/console-api.ts';
import { useApi } from './api.ts';
import { lineDiff } from './line-diff.ts';

export function SchemasPage(props: { enabled: boolean }) {
  const subjects = useApi<SubjectView[]>('/api/schemas');
  if (!props.enabled) {
    return (
      <section>
        <h1>Schemas</h1>
        <p>This broker serves no schema registry (schema.registry.listeners).</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Schemas</h1>
      {subjects.error === undefined ? null : <p className="error">{subjects.error}</p>}
      {(subjects.data ?? []).map((subject) => (
        <Subject key={subject.subject} subject={subject} />
      ))}
    </section>
  );
}

function pretty(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}

function Subject(props: { subject: SubjectView }) {
  const versions = props.subject.versions;
  const last = versions.at(-1)?.version ?? 1;
  const [left, setLeft] = useState(versions.at(-2)?.version ?? last);
  const [right, setRight] = useState(last);
  const text = (version: number) =>
    pretty(versions.find((entry) => entry.version === version)?.schema ?? '');
  const picker = (value: number, set: (version: number) => void, testId: string) => (
    <select
      value={value}
      data-testid={testId}
      onChange={(event) => set(Number(event.target.value))}
    >
      {versions.map((entry) => (
        <option key={entry.version} value={entry.version}>
          v{entry.version} (id {entry.id})
        </option>
      ))}
    </select>
  );
  return (
    <article data-testid={`subject-${props.subject.subject}`}>
      <h2>{props.subject.subject}</h2>
      <p>
        {versions.length} version(s), {versions.at(-1)?.schemaType}
      </p>
      <div className="controls">
        Diff {picker(left, setLeft, 'diff-left')} → {picker(right, setRight, 'diff-right')}
      </div>
      <pre className="diff" data-testid="schema-diff">
        {lineDiff(text(left), text(right)).map((line, index) => (
          <div key={index} className={line.kind}>
            {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
            {line.text}
          </div>
        ))}
      </pre>
    </article>
  );
}
