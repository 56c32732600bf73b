/**
 * Peak resident memory of this process. A 20 ms sampler sees what JavaScript holds while the event
 * loop turns; the kernel's maxRSS also catches peaks between samples and while the loop is blocked.
 */
export interface RssSampler {
  /** Stops sampling; the peak in bytes over the sampler's life and the process's maxRSS. */
  stop(): number;
}

export function startRssSampler(intervalMs = 20): RssSampler {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const sampled = Math.max(peak, process.memoryUsage.rss());
      // resourceUsage().maxRSS is in kilobytes.
      return Math.max(sampled, process.resourceUsage().maxRSS * 1024);
    },
  };
}

export function toMb(bytes: number): number {
  return bytes / (1024 * 1024);
}
