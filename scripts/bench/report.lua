-- wrk reports through this hook: one machine-readable line, microseconds
-- (read by scripts/bench.sh).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "VITRINA_RESULT rps=%.1f p50=%d p95=%d p99=%d requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
