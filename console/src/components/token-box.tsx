/** Where the admin token is entered once for the tab (sessionStorage) or forgotten. */
import { useState } from 'preact/hooks';
import { useTokenPresent } from '../hooks';
import { readToken, saveToken } from '../token';

export function TokenBox() {
  const present = useTokenPresent(readToken);
  const [value, setValue] = useState('');
  if (present) {
    return (
      <div class="token">
        <span class="small">Admin token set for this tab</span>
        <button type="button" onClick={() => saveToken(undefined)}>
          Forget token
        </button>
      </div>
    );
  }
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) saveToken(value.trim());
        setValue('');
      }}
    >
      <label for="admin-token">Admin token</label>
      <input
        id="admin-token"
        type="password"
        autoComplete="off"
        spellcheck={false}
        placeholder="needed for changes"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}
