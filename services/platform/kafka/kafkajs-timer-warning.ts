// kafkajs 2.2.4 schedules its request queue's check with a negative delay on every connection
// (tulios/kafkajs#1751). Node.js 24 and later print a TimeoutNegativeWarning for each, although the timer runs as it
// always did (after 1 ms): noise in every service's stderr that operators would take for a fault. This drops that one
// warning when kafkajs raised it and leaves every other warning, ours included, to Node's own printing.

let installed = false;

/** Installs the filter once per process; every Kafka client factory calls it. */
export function dropKafkajsTimerWarnings(): void {
  if (installed) return;
  installed = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (isKafkajsTimerWarning(warning)) return;
    for (const print of printers) print(warning);
  });
}

export function isKafkajsTimerWarning(warning: Error): boolean {
  return warning.name === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(warning.stack ?? '');
}
