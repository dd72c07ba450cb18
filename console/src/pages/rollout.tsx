/** Placeholder until the API this page reads is merged. */
export function RolloutPage(props: { model: string }) {
  return (
    <>
      <h1>Rollout · {props.model}</h1>
      <p>This page needs an API that this registry does not serve yet.</p>
    </>
  );
}
