// A QR code as inline SVG (one path of the dark modules; no style attribute, no script, no data:
// URL), from qrcode-generator: the citizen site's hand-off code and the console's TOTP enrolment.
import qrcode from 'qrcode-generator';

export function QrCode({ text, label }: { text: string; label: string }) {
  const q = qrcode(0, 'M');
  q.addData(text, 'Byte');
  q.make();
  const n = q.getModuleCount();
  const margin = 4;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (q.isDark(r, c)) d += `M${c + margin},${r + margin}h1v1h-1z`;
    }
  }
  const size = n + margin * 2;
  return (
    <svg class="qr" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">
      <title>{label}</title>
      <rect width={size} height={size} fill="#ffffff" />
      <path d={d} fill="#000000" />
    </svg>
  );
}
