package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;

class JobTest {
    private static Job job() {
        return new Job(new GenerateRequest(null, null, 0, null, null, 1, 1, "png", "j1", null), true);
    }

    @Test
    void aReaderSeesTheNewestFrameAndSkipsWhatItMissed() throws Exception {
        Job job = job();
        assertThat(job.awaitFrame(0, 10)).isNull(); // nothing yet: times out
        job.publish(0, 10, new byte[] {1}, new byte[] {1});
        job.publish(1, 10, new byte[] {2}, new byte[] {2});
        job.publish(2, 10, new byte[] {3}, new byte[] {3});
        Job.Frame f = job.awaitFrame(0, 10);
        assertThat(f.index()).isEqualTo(2);
        assertThat(f.seq()).isEqualTo(3);
        assertThat(job.awaitFrame(f.seq(), 10)).isNull();
        Thread later = new Thread(() -> job.publish(3, 10, new byte[] {4}, new byte[] {4}));
        later.start();
        assertThat(job.awaitFrame(f.seq(), 10_000).index()).isEqualTo(3);
        later.join();
    }

    @Test
    void finishingWakesAWaitingReader() throws Exception {
        Job job = job();
        Thread finisher = new Thread(() -> job.result.complete(new Job.Result(new byte[0], List.of(), 1)));
        long start = System.nanoTime();
        finisher.start();
        assertThat(job.awaitFrame(0, 60_000)).isNull();
        // Woken by completion, not by the 60 s timeout.
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(30);
        assertThat(job.result.isDone()).isTrue();
        finisher.join();
    }

    @Test
    void cancellingStopsTheSamplerAtItsNextCheckButNotAFinishedJob() {
        Job job = job();
        job.checkCancelled();
        job.cancel();
        assertThat(job.cancelled()).isTrue();
        assertThatThrownBy(job::checkCancelled).isInstanceOf(CancellationException.class).hasMessageContaining("j1");
        assertThat(job.result.isCompletedExceptionally()).isTrue();
        Job done = job();
        done.result.complete(new Job.Result(new byte[0], List.of(), 1));
        done.cancel();
        assertThat(done.result.isCompletedExceptionally()).isFalse();
    }
}
