// The second step of an action that cannot be undone: its button has already turned into this
// pair, so only a deliberate second click acts. The page keeps which action is asking.

/**
 * "Confirm …" (the only button that acts) beside "Cancel", with an optional line saying what
 * cannot be undone. `test` names them `${test}-confirm` and `${test}-cancel`.
 */
export function ConfirmInPlace({ label, warning, test, onConfirm, onCancel }: { label: string; warning?: string; test: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <>
      <button class="danger" onClick={onConfirm} data-test={`${test}-confirm`}>{label}</button>
      <button onClick={onCancel} data-test={`${test}-cancel`}>Cancel</button>
      {warning && <span class="muted" data-test={`${test}-warning`}>{warning}</span>}
    </>
  );
}
