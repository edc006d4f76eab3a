import { expect } from 'chai';
import { GATHER_MAX_MS, GATHER_MIN_MS, extensionIntervalMs, gatherBoundMs } from '../../lib/queue-consumer.ts';

describe('queue consumer rules', () => {
  it('lets freed slots gather for a twentieth of the handler time, at least GATHER_MIN_MS and at most GATHER_MAX_MS', () => {
    expect(gatherBoundMs(0)).to.equal(GATHER_MIN_MS);
    expect(gatherBoundMs(1)).to.equal(GATHER_MIN_MS);
    expect(gatherBoundMs(1000)).to.equal(50);
    expect(gatherBoundMs(60_000)).to.equal(GATHER_MAX_MS);
    expect(GATHER_MAX_MS).to.be.at.most(100);
  });

  it('extends the visibility of a message in hand every half visibility timeout, at least 500 ms apart', () => {
    expect(extensionIntervalMs(30)).to.equal(15_000);
    expect(extensionIntervalMs(1)).to.equal(500);
    expect(extensionIntervalMs(0)).to.equal(500);
  });
});
