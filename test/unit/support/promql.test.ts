import { describe, expect, it } from 'vitest';
import { metricNamesIn } from '../../support/promql.js';

describe('metricNamesIn (the metric names a PromQL expression reads)', () => {
  it('finds the metrics under functions, aggregations and binary operators', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, channel) (rate(a_seconds_bucket{channel=~"sms|push"}[$__rate_interval])))',
      ),
    ).toEqual(['a_seconds_bucket']);
    expect(
      metricNamesIn(
        '(sum by (channel) (rate(x_total{outcome="failed"}[10m])) / sum by (channel) (rate(x_total[10m]))) > 0.2 and on (channel) y >= 20',
      ),
    ).toEqual(['x_total', 'y']);
    expect(metricNamesIn('sum(b) without (instance) unless on (queue) (c == 1) or up offset 5m')).toEqual([
      'b',
      'c',
      'up',
    ]);
  });

  it('skips strings, label names and values, durations, numbers and Grafana variables', () => {
    expect(
      metricNamesIn(
        'label_replace(max by (queue) (q{queue=~"send-.+"}), "channel", "$1", "queue", "send-(.+)") > 1e3',
      ),
    ).toEqual(['q']);
    expect(metricNamesIn('rate(z[$interval]) * 60 + vector(0)')).toEqual(['z']);
  });
});
