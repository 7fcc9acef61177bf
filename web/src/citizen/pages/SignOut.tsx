// Signing out: ends the session on the platform (DELETE /v1/card-auth/sessions/current) and here.
// An already expired or ended session (401) is signed out all the same.
import { useState } from 'preact/hooks';
import { tr } from '../../lib/i18n';
import { navigate } from '../../lib/router';
import { api, flash, setSession } from '../session';

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    try {
      await api.DELETE('/v1/card-auth/sessions/current');
    } catch {
      /* offline: the token is dropped here anyway and expires within 15 minutes */
    }
    setSession(null);
    flash.set({ text: { ja: 'サインアウトしました。', en: 'You have signed out.' }, kind: 'info', on: '/' });
    setBusy(false);
    navigate('/');
  }
  return (
    <button type="button" class="link-button" onClick={signOut} disabled={busy}>
      {tr({ ja: 'サインアウト', en: 'Sign out' })}
    </button>
  );
}
