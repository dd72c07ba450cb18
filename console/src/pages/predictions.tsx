/** Placeholder until the API this page reads is merged. */
export function PredictionsPage(props: { model: string }) {
  return (
    <>
      <h1>Predictions · {props.model}</h1>
      <p>This page needs an API that this registry does not serve yet.</p>
    </>
  );
}
