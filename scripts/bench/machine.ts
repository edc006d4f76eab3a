import { cpus, loadavg, release, totalmem, type } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  cpuMhz: number | undefined;
  memoryGb: number;
  os: string;
  node: string;
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuMhz: list[0]?.speed || undefined,
    memoryGb: totalmem() / 2 ** 30,
    os: `${type()} ${release()}`,
    node: process.version,
  };
}

export function loadAverage(): number[] {
  return loadavg();
}
