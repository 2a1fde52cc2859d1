package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class JobRunnerTest {
    static Map<String, ServedModel> models;
    static final ServeConfig LIMITS = ServeConfig.localDefaults(0);

    @BeforeAll
    static void load() throws Exception {
        models = Map.of("m", ServedModel.load(Path.of("models/mnist-unet.safetensors")));
    }

    /** A job that records every frame it publishes, and can cancel itself at a given frame. */
    static final class Recording extends Job {
        final List<Frame> frames = new ArrayList<>();
        final int cancelAt;

        Recording(GenerateRequest r, int cancelAt) {
            super(r, true);
            this.cancelAt = cancelAt;
        }

        @Override
        synchronized void publish(int index, int count, byte[] xt, byte[] x0) {
            super.publish(index, count, xt, x0);
            frames.add(new Frame(frames.size() + 1, index, count, xt, x0));
            if (frames.size() == cancelAt) {
                cancel();
            }
        }
    }

    @Test
    void streamsFramesOfBothImagesAndEndsOnTheLastStep() throws Exception {
        GenerateRequest r = GenerateRequest.parse(Map.of("steps", "6", "batch", "4", "scale", "2"), models, LIMITS, 1,
                "a");
        Recording job = new Recording(r, -1);
        Job.Result result = JobRunner.run(job);
        assertThat(job.frames).isNotEmpty();
        Job.Frame last = job.frames.get(job.frames.size() - 1);
        assertThat(last.index()).isEqualTo(5);
        assertThat(last.count()).isEqualTo(6);
        BufferedImage xt = ImageIO.read(new ByteArrayInputStream(job.frames.get(0).xt()));
        assertThat(xt.getWidth()).isEqualTo(2 * (56 + 2) + 2); // the 2x2 grid at 2x
        assertThat(job.frames.get(0).x0()).isNotEqualTo(job.frames.get(0).xt());
        assertThat(result.images()).hasSize(4);
        assertThat(ImageIO.read(new ByteArrayInputStream(result.images().get(0))).getWidth()).isEqualTo(56);
        // A plain request renders no frames.
        Job quiet = new Job(r, false) {
            @Override
            synchronized void publish(int index, int count, byte[] xt, byte[] x0) {
                throw new AssertionError("no frames for a non-streaming job");
            }
        };
        assertThat(JobRunner.run(quiet).images()).hasSize(4);
    }

    @Test
    void cancellingStopsSamplingAtTheNextStep() {
        // 1000 ancestral steps at one frame per 40 ms would take many seconds; cancelling at the first frame ends it.
        GenerateRequest r = GenerateRequest.parse(Map.of("sampler", "euler-a", "steps", "1000"), models, LIMITS, 1,
                "b");
        Recording job = new Recording(r, 1);
        assertThatThrownBy(() -> JobRunner.run(job)).isInstanceOf(CancellationException.class);
        assertThat(job.frames).hasSize(1);
        assertThat(job.frames.get(0).index()).isLessThan(999);
    }
}
