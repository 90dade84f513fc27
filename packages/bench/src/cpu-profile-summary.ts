/**
 * Summarizes a V8 .cpuprofile (written by `node --cpu-prof`) into the functions with the most
 * self time: the samples whose top frame is that function. Pure: takes the parsed JSON.
 * Frames are merged by function name, file and line, since V8 may emit one node per call path.
 * `(idle)` samples are left out of the total, so percentages are shares of busy main-thread time.
 */

export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileHotspot {
  /** `name (file:line)`, file reduced to its path below packages/ or node_modules/. */
  frame: string;
  selfMs: number;
  selfPercent: number;
}

export function summarizeCpuProfile(profile: CpuProfile, top = 12): ProfileHotspot[] {
  const frameOf = new Map<number, string>();
  for (const node of profile.nodes) frameOf.set(node.id, describeFrame(node.callFrame));
  const selfUs = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  for (const [index, nodeId] of samples.entries()) {
    // timeDeltas[i] is the time before sample i; charge it to sample i as V8's tools do.
    const us = Math.max(0, deltas[index] ?? 0);
    const frame = frameOf.get(nodeId) ?? '(unknown)';
    if (frame === '(idle)') continue;
    selfUs.set(frame, (selfUs.get(frame) ?? 0) + us);
    totalUs += us;
  }
  return [...selfUs.entries()]
    .toSorted((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({
      frame,
      selfMs: us / 1000,
      selfPercent: totalUs > 0 ? (100 * us) / totalUs : 0,
    }));
}

function describeFrame(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const match = /(?:packages|node_modules)\/.*$/.exec(frame.url);
  const file = match === null ? frame.url.replace(/^.*\//, '') : match[0];
  return `${name} (${file}:${frame.lineNumber + 1})`;
}
