/**
 * Processor residency (N10): personal data is processed in the EU/EEA only. Twilio has regions and
 * edges; only the EU ones are accepted. FCM has a single global endpoint and no region to choose:
 * docs/residency.md says so.
 */
export const TWILIO_EU_REGIONS: readonly string[] = ['ie1'];
export const TWILIO_EU_EDGES: readonly string[] = ['dublin', 'frankfurt'];

export function checkTwilioResidency(region: string, edge: string): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (!TWILIO_EU_REGIONS.includes(region)) {
    problems.push({
      key: 'TWILIO_REGION',
      message: `"${region}" is outside the EU; personal data may only be processed in the EU/EEA (N10): use ${TWILIO_EU_REGIONS.join(', ')}`,
    });
  }
  if (!TWILIO_EU_EDGES.includes(edge)) {
    problems.push({
      key: 'TWILIO_EDGE',
      message: `"${edge}" is outside the EU; personal data may only be processed in the EU/EEA (N10): use ${TWILIO_EU_EDGES.join(' or ')}`,
    });
  }
  return problems;
}
