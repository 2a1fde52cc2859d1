package org.diffusion4j.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplableModel;

/** Runs one job on the calling thread: samples, publishes throttled frames to a stream, renders the result. */
final class JobRunner {
    private JobRunner() {}

    /** Frames closer together than this are skipped: a browser cannot show more, and each costs a PNG encode. */
    static final long FRAME_INTERVAL_NANOS = 40_000_000L;

    static Job.Result run(Job job) {
        job.checkCancelled();
        GenerateRequest r = job.request;
        int columns = (int) Math.ceil(Math.sqrt(r.batch()));
        long start = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            Tensor images;
            if (r.prompted() != null) {
                // A text-to-image pipeline: previews decode its latents; each step checks for cancellation.
                StableDiffusion sd = r.model().pipeline();
                StepListener frames = frames(job, sd::decodeLatents, columns, start);
                images = sd.generate(r.prompted().request(), r.prompted().init(), r.spec(), null,
                        (i, n, xt, x0) -> {
                            job.checkCancelled();
                            frames.onStep(i, n, xt, x0);
                        });
            } else {
                SamplableModel m = r.model().model();
                images = Generation.run(m, r.job(), job::checkCancelled,
                        frames(job, x -> m.toOutput(x, r.batch()), columns, start));
            }
            return result(images, r, columns, start);
        }
    }

    /** Publishes x_t and x0 as images (throttled, the last step always) when the job streams. */
    private static StepListener frames(Job job, UnaryOperator<Tensor> toImages, int columns, long start) {
        if (!job.stream) {
            return StepListener.NONE;
        }
        long[] lastFrame = {start - FRAME_INTERVAL_NANOS};
        int scale = job.request.scale();
        return (i, n, xt, x0) -> {
            long now = System.nanoTime();
            if (i != n - 1 && now - lastFrame[0] < FRAME_INTERVAL_NANOS) {
                return;
            }
            lastFrame[0] = now;
            try (PointerScope scope = new PointerScope()) {
                job.publish(i, n, gridPng(toImages.apply(xt), columns, scale),
                        gridPng(toImages.apply(x0), columns, scale));
            }
        };
    }

    private static Job.Result result(Tensor images, GenerateRequest r, int columns, long start) {
        List<byte[]> singles = new ArrayList<>();
        for (int i = 0; i < r.batch(); i++) {
            singles.add(ImageGrid.png(ImageGrid.render(images.narrow(0, i, 1), 1, r.scale(), 0)));
        }
        byte[] grid = r.batch() == 1 ? singles.get(0) : gridPng(images, columns, r.scale());
        return new Job.Result(grid, singles, (System.nanoTime() - start) / 1e9);
    }

    private static byte[] gridPng(Tensor images, int columns, int scale) {
        return ImageGrid.png(ImageGrid.render(images.to(ScalarType.Float),
                columns, scale, images.size(0) == 1 ? 0 : 2));
    }
}
