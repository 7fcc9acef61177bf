import { tr } from '../../lib/i18n';
import { PageTitle } from '../../lib/ui';
import { SITE } from '../words';

export function NotFoundPage() {
  return (
    <>
      <PageTitle text={{ ja: 'ページが見つかりません', en: 'Page not found' }} site={SITE} />
      <p>{tr({ ja: 'お探しのページは見つかりませんでした。', en: 'The page you are looking for was not found.' })}</p>
      <p>
        <a href="#/">{tr({ ja: 'ホームへ戻る', en: 'Back to the home page' })}</a>
      </p>
    </>
  );
}
