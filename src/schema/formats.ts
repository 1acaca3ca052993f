/**
 * The string formats event schemas may use, checked the same way by the validator (ajv) and
 * by the compatibility checker. Ajv ships no formats; these cover the common ones. A schema
 * naming any other format does not compile (a typo such as "emial" must not pass silently).
 */

const dateText = /^(\d{4})-(\d{2})-(\d{2})$/;
const timeText = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(z|[+-](\d{2}):(\d{2}))$/i;

function isDate(text: string): boolean {
  const match = dateText.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day >= 1 && day <= days;
}

function isTime(text: string): boolean {
  const match = timeText.exec(text);
  if (!match) return false;
  const [hour, minute, second] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const [offsetHour, offsetMinute] = [Number(match[6] ?? 0), Number(match[7] ?? 0)];
  return hour <= 23 && minute <= 59 && second <= 59 && offsetHour <= 23 && offsetMinute <= 59;
}

function isDateTime(text: string): boolean {
  const t = text.search(/[tT ]/);
  return t === 10 && isDate(text.slice(0, t)) && isTime(text.slice(t + 1));
}

const hostnameLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
function isHostname(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => hostnameLabel.test(label));
}

const ipv4Text = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.split('::').length > 2) return false;
  const parts = text.split(':');
  const last = parts[parts.length - 1] ?? '';
  const embeddedIpv4 = last.includes('.');
  if (embeddedIpv4 && !ipv4Text.test(last)) return false;
  const groups = parts.filter((p, i) => !(embeddedIpv4 && i === parts.length - 1));
  const limit = embeddedIpv4 ? 6 : 8;
  if (text.includes('::'))
    return groups.filter((g) => g !== '').length < limit && groups.every((g) => /^[0-9a-f]{0,4}$/i.test(g));
  return groups.length === limit && groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
}

const email =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const uuid = /^(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uriReference = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const uriScheme = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const duration =
  /^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$/;

function isRegex(text: string): boolean {
  try {
    new RegExp(text, 'u');
    return true;
  } catch {
    return false;
  }
}

/** Format name → check. */
export const formats: Readonly<Record<string, (text: string) => boolean>> = Object.freeze({
  date: isDate,
  time: isTime,
  'date-time': isDateTime,
  duration: (t: string) => duration.test(t),
  email: (t: string) => email.test(t),
  hostname: isHostname,
  ipv4: (t: string) => ipv4Text.test(t),
  ipv6: isIpv6,
  uri: (t: string) => uriReference.test(t) && uriScheme.test(t),
  'uri-reference': (t: string) => uriReference.test(t),
  uuid: (t: string) => uuid.test(t),
  regex: isRegex,
});

export const formatNames: readonly string[] = Object.keys(formats);
