/** An action in two steps: the first click shows what will happen, the second does it. */
import { useState, type ReactNode } from 'react';

export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  disabled?: boolean;
  onConfirm: () => Promise<void>;
  children?: ReactNode;
  testId: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        disabled={props.disabled}
        data-testid={props.testId}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <div className="confirm" role="dialog">
      {props.children}
      <button
        type="button"
        className="danger"
        disabled={busy}
        data-testid={`${props.testId}-confirm`}
        onClick={() => {
          setBusy(true);
          props.onConfirm().finally(() => {
            setBusy(false);
            setAsking(false);
          });
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </div>
  );
}
