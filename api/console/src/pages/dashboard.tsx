import { all, api, ApiError, type Ca, type CertificateItem, type CertificateStats, type Page } from '../api.ts';
import { BarChart, type Bar } from '../chart.tsx';
import { Badge, ProblemBanner, subjectText, Table, useLoad, when } from '../ui.tsx';

const DAY = 86_400_000;
const EXPIRY_SHOWN = 25;

interface Overview {
  cas: Ca[];
  stats: { ca: Ca; stats: CertificateStats }[];
  /** CAs whose certificates this principal may not list. */
  hidden: number;
  expiring: { ca: Ca; cert: CertificateItem }[];
}

/** Buckets of several CAs summed by their start (the CAs' answers may straddle an hour). */
function sum(lists: { start: string; count: number }[][]): { start: string; count: number }[] {
  const by = new Map<string, number>();
  for (const list of lists) for (const b of list) by.set(b.start, (by.get(b.start) ?? 0) + b.count);
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([start, count]) => ({ start, count }));
}

async function overview(): Promise<Overview> {
  const cas = await all<Ca>('/v1/cas');
  const withCerts = cas.filter((c) => c.status !== 'PENDING_CERTIFICATE');
  const stats = (
    await Promise.all(
      withCerts.map((ca) =>
        api<CertificateStats>('GET', `/v1/cas/${ca.id}/certificate-stats`).then(
          (stats) => ({ ca, stats }),
          (e) => {
            if (e instanceof ApiError && e.status === 403) return undefined;
            throw e;
          },
        ),
      ),
    )
  ).filter((x): x is { ca: Ca; stats: CertificateStats } => x !== undefined);
  const now = new Date();
  const soon = new Date(now.getTime() + 30 * DAY);
  // The list is in serial order, so each CA's first page of those expiring is sorted here by notAfter.
  const expiring = (
    await Promise.all(
      stats
        .filter((s) => s.stats.expiringWithin30Days > 0)
        .map(async ({ ca }) => {
          const page = await api<Page<CertificateItem>>('GET', `/v1/cas/${ca.id}/certificates?status=ISSUED&expiresAfter=${now.toISOString()}&expiresBefore=${soon.toISOString()}&limit=${EXPIRY_SHOWN}`);
          return page.items.map((cert) => ({ ca, cert }));
        }),
    )
  )
    .flat()
    .sort((a, b) => a.cert.notAfter.localeCompare(b.cert.notAfter))
    .slice(0, EXPIRY_SHOWN);
  return { cas, stats, hidden: withCerts.length - stats.length, expiring };
}

const hourTick = (iso: string, i: number) => (i % 6 === 0 ? `${iso.slice(11, 13)}:00` : undefined);
const dayTick = (iso: string, i: number) => (i % 5 === 0 ? iso.slice(5, 10) : undefined);

/** What there is and what is coming: CAs and certificates by status, issuance, and what expires soon. */
export function Dashboard() {
  const o = useLoad(overview, []);
  if (o.error) return <ProblemBanner error={o.error} />;
  if (!o.data) return <p class="loading">Loading…</p>;
  const { cas, stats, hidden, expiring } = o.data;
  const byStatus = new Map<string, number>();
  for (const c of cas) byStatus.set(c.status, (byStatus.get(c.status) ?? 0) + 1);
  const total = (k: 'issued' | 'expired' | 'revoked' | 'expiringWithin30Days') => stats.reduce((s, x) => s + x.stats[k], 0);
  const hourly: Bar[] = sum(stats.map((s) => s.stats.hourly)).map((b, i) => ({ label: when(b.start), tick: hourTick(b.start, i), value: b.count }));
  const daily: Bar[] = sum(stats.map((s) => s.stats.daily)).map((b, i) => ({ label: b.start.slice(0, 10), tick: dayTick(b.start, i), value: b.count }));
  return (
    <>
      <section aria-labelledby="dash-cas">
        <div class="heading">
          <h1 tabIndex={-1}>Dashboard</h1>
          <button type="button" onClick={o.reload}>
            Refresh
          </button>
        </div>
        <h2 id="dash-cas">Certificate authorities</h2>
        <div class="tiles" data-testid="ca-tiles">
          <div class="tile">
            <span class="n">{cas.length}</span> in all
          </div>
          {[...byStatus].map(([status, n]) => (
            <div class="tile" key={status}>
              <span class="n">{n}</span> <Badge status={status} />
            </div>
          ))}
        </div>
      </section>
      <section aria-labelledby="dash-certs">
        <h2 id="dash-certs">Certificates</h2>
        {hidden ? <p class="hint">{hidden} CA{hidden > 1 ? 's are' : ' is'} left out: this principal may not list their certificates.</p> : null}
        <div class="tiles" data-testid="certificate-tiles">
          <div class="tile">
            <span class="n">{total('issued').toLocaleString('en')}</span> <Badge status="ISSUED" /> valid
          </div>
          <div class="tile">
            <span class="n">{total('revoked').toLocaleString('en')}</span> <Badge status="REVOKED" />
          </div>
          <div class="tile">
            <span class="n">{total('expired').toLocaleString('en')}</span> <Badge status="EXPIRED" />
          </div>
          <div class="tile">
            <span class="n">{total('expiringWithin30Days').toLocaleString('en')}</span> expire within 30 days
          </div>
        </div>
        <div class="charts">
          <BarChart id="chart-hourly" title="Issued in the last 24 hours (per hour, UTC)" bars={hourly} />
          <BarChart id="chart-daily" title="Issued in the last 30 days (per day, UTC)" bars={daily} />
        </div>
      </section>
      <section aria-labelledby="dash-expiring">
        <h2 id="dash-expiring">Expiring in the next 30 days</h2>
        {expiring.length === 0 ? (
          <p>No certificate expires in the next 30 days.</p>
        ) : (
          <Table caption="Certificates expiring in the next 30 days, the soonest first" columns={['Expires', 'CA', 'Subject', 'Serial']}>
            {expiring.map(({ ca, cert }) => (
              <tr key={`${ca.id}/${cert.serial}`}>
                <td>{when(cert.notAfter)}</td>
                <td>
                  <a href={`#/cas/${ca.id}`}>{subjectText(ca.subject)}</a>
                </td>
                <td>
                  <a href={`#/cas/${ca.id}/certificates/${cert.serial}`}>{cert.subject}</a>
                </td>
                <td>
                  <code>{cert.serial}</code>
                </td>
              </tr>
            ))}
          </Table>
        )}
        {total('expiringWithin30Days') > expiring.length ? <p class="hint">
            {expiring.length} of {total('expiringWithin30Days').toLocaleString('en')} shown (at most {EXPIRY_SHOWN} a CA); a CA's page lists them all with its expiry filter.
          </p> : null}
      </section>
    </>
  );
}
