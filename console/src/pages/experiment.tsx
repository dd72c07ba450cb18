/** Placeholder until the API this page reads is merged. */
export function ExperimentPage(props: { model: string }) {
  return (
    <>
      <h1>Experiment · {props.model}</h1>
      <p>This page needs an API that this registry does not serve yet.</p>
    </>
  );
}
