// Epoch milliseconds as ISO 8601 UTC text, by arithmetic: the core reads no clock and touches no `Date`, so that
// formatting a time it was given can never turn into reading one. Days to a proleptic Gregorian civil date as in
// Howard Hinnant's `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).

const DAY_MS = 86_400_000;

const pad = (value: number, digits: number) => String(value).padStart(digits, '0');

/**
 * What `new Date(ms).toISOString()` gives for the times it accepts (years 0 to 9999 as YYYY, others as ±YYYYYY),
 * and the same form for any other integer of milliseconds, where toISOString throws.
 */
export function isoUtc(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const inDay = ms - days * DAY_MS;
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const yearText =
    year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  const time = [
    pad(Math.floor(inDay / 3_600_000), 2),
    pad(Math.floor(inDay / 60_000) % 60, 2),
    pad(Math.floor(inDay / 1000) % 60, 2),
  ].join(':');
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}T${time}.${pad(inDay % 1000, 3)}Z`;
}
