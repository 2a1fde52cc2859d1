package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.OutputLock;
import org.diffusion4j.data.ImageFile;
import org.diffusion4j.distributed.Collective;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.distributed.DistConfig;
import org.diffusion4j.distributed.GlooGroup;
import org.diffusion4j.eval.QualityReport;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.render.DenoisingGif;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.Models;
import org.diffusion4j.run.RunSpec;
import org.diffusion4j.run.TrainingRun;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.Trainer;

/** The CLI's two jobs, shared by the commands: train with a progress bar, and sample with a report. */
final class Runs {
    private static final String CSV_HEADER = "step,loss,lr,grad_norm";

    private Runs() {}

    /**
     * Trains, writes the checkpoint(s) and the loss CSV (rewritten just before every checkpoint, so the log always
     * covers the newest one), prints a summary to {@code out}.
     *
     * @param resume a checkpoint to continue exactly, or null
     */
    static void train(RunSpec spec, Path dataDir, Path checkpoint, TrainingRun.CheckpointPolicy policy, Path resume,
                      boolean overwrite, PrintStream out) throws IOException {
        train(spec, dataDir, checkpoint, policy, TrainingRun.Start.resume(resume), overwrite, out, DistConfig.single(),
                DeviceSpec.CPU);
    }

    /**
     * As above, as one rank of a data-parallel job when {@code dist} says so: the ranks meet first, then every rank
     * checks its arguments and all stop if any rank found a problem (so no rank waits for a peer that already quit).
     * Only rank 0 shows progress and writes files. Training runs on {@code device}.
     */
    static void train(RunSpec spec, Path dataDir, Path checkpoint, TrainingRun.CheckpointPolicy policy,
                      TrainingRun.Start start, boolean overwrite, PrintStream out, DistConfig dist, DeviceSpec device)
            throws IOException {
        Checkpoint.requireSafetensorsName(checkpoint);
        Path resume = start.resume();
        boolean continuing = resume != null;
        if (continuing) {
            Checkpoint.requireSafetensorsName(resume);
        }
        if (start.init() != null) {
            Checkpoint.requireSafetensorsName(start.init());
        }
        // Before connecting, so that a bad split fails at once rather than after the rendezvous.
        DataParallel.requireEvenShares(spec.train().batchSize(), dist.worldSize());
        Collective group = dist.distributed() ? GlooGroup.connect(dist) : Collective.single();
        String problem = "";
        OutputLock lock = null;
        try {
            if (group.rank() == 0) {
                // Before anything is checked or written: a second job for this --out must not pass the checks too.
                lock = OutputLock.acquire(checkpoint, "--out");
            }
            if (continuing && !overwrite && Files.exists(checkpoint) && Files.exists(resume)
                    && Files.isSameFile(checkpoint, resume)) {
                throw new IllegalArgumentException("--out " + checkpoint + " is the checkpoint --resume reads; pass "
                        + "--overwrite to replace it with the continued run, or choose another --out");
            }
            if (start.init() != null && !Files.isRegularFile(start.init())) {
                throw new IllegalArgumentException("--init " + start.init() + ": no such checkpoint");
            }
            preflight(checkpoint, resume, overwrite || continuing, group.rank() == 0);
        } catch (IllegalArgumentException | IllegalStateException e) {
            problem = e.getMessage();
        }
        try {
            List<String> problems = group.exchange("preflight", problem);
            for (int r = 0; r < problems.size(); r++) {
                if (!problems.get(r).isEmpty()) {
                    throw new IllegalArgumentException((group.worldSize() > 1 ? "rank " + r + ": " : "")
                            + problems.get(r));
                }
            }
            train(spec, dataDir, checkpoint, policy, start, out, new DataParallel(group, dist.bucketBytes()), device);
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }

    private static void preflight(Path checkpoint, Path resume, boolean replace, boolean writer) throws IOException {
        if (resume != null && !Files.isRegularFile(resume)) {
            throw new IllegalArgumentException("--resume " + resume + ": no such checkpoint (refusing to start fresh)");
        }
        if (writer) {
            // Resuming continues the run's own files (the resumed checkpoint is read completely before anything is
            // written, and writes are atomic); a fresh run must not clobber anything.
            OutputPaths.check(checkpoint, "--out", replace);
            OutputPaths.check(Checkpoint.sidecarOf(checkpoint), "--out (sidecar)", replace);
            OutputPaths.check(lossLog(checkpoint), "--out (loss log)", replace);
        }
    }

    private static void train(RunSpec spec, Path dataDir, Path checkpoint, TrainingRun.CheckpointPolicy policy,
                              TrainingRun.Start start, PrintStream out, DataParallel parallel, DeviceSpec device)
            throws IOException {
        Path resume = start.resume();
        Path sidecar = Checkpoint.sidecarOf(checkpoint);
        Path lossCsv = lossLog(checkpoint);
        boolean continuing = resume != null;
        Collective group = parallel.group();
        boolean writer = group.rank() == 0;
        List<String> rows = new ArrayList<>();
        if (continuing && writer) {
            long from = Checkpoint.readSidecar(resume).step();
            for (String line : previousLog(resume).lines().skip(1).toList()) {
                if (Long.parseLong(line.substring(0, line.indexOf(','))) < from) {
                    rows.add(line);
                }
            }
        }
        double[] recent = new double[100];
        long began = System.nanoTime();
        Trainer trainer;
        // One process: the first Ctrl-C or SIGTERM finishes the step and saves, a second quits at once. Ranks of a
        // data-parallel run would stop at different steps and wait on each other, so they keep the default.
        StopOnSignal stop = group.worldSize() == 1 ? StopOnSignal.install() : null;
        try (ProgressBar pb = writer ? Progress.bar("train", spec.train().steps()) : null; stop) {
            trainer = TrainingRun.run(spec, dataDir, checkpoint, policy, start, s -> {
                recent[(int) (s.step() % recent.length)] = s.loss();
                if (pb != null) {
                    rows.add(s.step() + "," + s.loss() + "," + s.learningRate() + "," + s.gradNorm());
                    pb.stepTo(s.step() + 1);
                    if (s.step() % 10 == 0) {
                        pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", s.loss()));
                    }
                }
                // After the step's row is logged: the saved log then holds every completed step.
                if (stop != null && stop.requested()) {
                    throw new TrainingRun.Stopped();
                }
            }, step -> csv(rows, step), parallel, device);
        }
        double seconds = (System.nanoTime() - began) / 1e9;
        int window = (int) Math.min(recent.length, trainer.step());
        double mean = 0;
        for (int i = 0; i < window; i++) {
            mean += recent[i];
        }
        mean /= Math.max(1, window);
        String ranks = group.worldSize() > 1 ? " on " + group.worldSize() + " ranks" : "";
        if (!writer) {
            out.printf(Locale.ROOT, "rank %d of %d: trained %d steps in %.1f s; weights digest %s (same on all "
                    + "ranks); rank 0 wrote the checkpoint%n", group.rank(), group.worldSize(), trainer.step(), seconds,
                    TrainingRun.digest(trainer));
            return;
        }
        out.printf(Locale.ROOT, "trained %s %s on %s: %d steps%s%s in %.1f s, %d parameters, mean loss of the last %d "
                        + "steps %.4f%n", spec.model().modelType(), Json.toTree(spec.model()), spec.data(),
                trainer.step(), ranks, continuing ? " (resumed from " + resume.getFileName() + ")"
                        : start.init() != null ? " (from the weights of " + start.init().getFileName() + ")" : "", seconds,
                Parameters.count(trainer.network().module()), window, mean);
        if (group.worldSize() > 1) {
            out.printf("rank 0 of %d: weights digest %s (same on all ranks)%n", group.worldSize(),
                    TrainingRun.digest(trainer));
        }
        out.printf("checkpoint: %s (+ %s), loss log: %s%n", checkpoint, sidecar.getFileName(), lossCsv);
    }

    private static byte[] csv(List<String> rows, long upTo) {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (String r : rows) {
            if (Long.parseLong(r.substring(0, r.indexOf(','))) < upTo) {
                sb.append(r).append('\n');
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code a/NAME.safetensors} -> {@code a/NAME.loss.csv}. */
    static Path lossLog(Path checkpoint) {
        return Checkpoint.lossLogOf(checkpoint);
    }

    /**
     * The loss log saved with the checkpoint a run resumes from; for checkpoints saved before logs were part of the
     * save, the file beside it or the run's. A log that is not the one saved with the checkpoint is left out, loudly:
     * the checkpoint still resumes, and the new log starts at its step.
     */
    private static String previousLog(Path resume) throws IOException {
        byte[] saved;
        try {
            saved = Checkpoint.readLossLog(resume);
        } catch (IOException e) {
            System.err.println("warning: " + e.getMessage() + "; the new log starts at the resumed step");
            return "";
        }
        if (saved != null) {
            return new String(saved, StandardCharsets.UTF_8);
        }
        for (Path legacy : List.of(lossLog(resume), lossLog(baseOf(resume)))) {
            if (Files.isRegularFile(legacy)) {
                return Files.readString(legacy);
            }
        }
        return "";
    }

    /** A periodic checkpoint's run name: {@code NAME-step000000100.safetensors} -> {@code NAME.safetensors}. */
    private static Path baseOf(Path checkpoint) {
        String name = checkpoint.getFileName().toString().replaceFirst("-step\\d{9}\\.safetensors$", ".safetensors");
        return checkpoint.resolveSibling(name);
    }

    /** Picks the sampler once the model is known. */
    @FunctionalInterface
    interface SpecFor {
        SamplerSpec of(boolean images, DiffusionProcess process, boolean latent);
    }

    /** Samples a checkpoint with a fixed sampler and count, unconditionally. */
    static QualityReport sample(Path checkpoint, SamplerSpec spec, int n, long seed, SampleOutput output,
                                PrintStream out, DeviceSpec device) throws IOException {
        return sample(ModelSource.checkpoint(checkpoint, device), (images, process, latent) -> spec,
                SampleJob.Conditioning.NONE, Guidance.of(1), n, seed, n, output, out);
    }

    /**
     * Loads a model, samples it and writes the samples: for images a grid or PNGs, for 2-D points and 1-D signals a
     * plot with their quality against fresh data. Checks the outputs before loading anything.
     *
     * @param specFor      the sampler, given whether the model makes images, its process and whether it is latent
     *                     (defaults differ)
     * @param conditioning for {@link SampleJob.Conditioning.EveryClass}, one grid row per class
     * @param count        number of samples, or null for the default (2000 points, 1000 signals, 64 images); with
     *                     every class, rounded up to a whole number per class
     * @return the quality report for points and signals; null for images
     */
    static QualityReport sample(ModelSource source, SpecFor specFor, SampleJob.Conditioning conditioning,
                                Guidance guidance, Integer count, long seed, int batchSize, SampleOutput output,
                                PrintStream out) throws IOException {
        return sample(source, specFor, conditioning, guidance, count, seed, batchSize, null, output, out);
    }

    /**
     * The files img2img and inpainting start from.
     *
     * @param image    a PNG or JPEG, scaled to the model's image size
     * @param strength the share of the sampler's steps run, or null for the default (0.8; 1 with a mask)
     * @param mask     null, or a PNG or JPEG: white where the model paints
     */
    record InitFiles(Path image, Double strength, Path mask) {
        InitFiles {
            if (image == null && (strength != null || mask != null)) {
                throw new IllegalArgumentException((mask != null ? "--mask" : "--strength") + " needs --init-image");
            }
        }

        /** The start as the model sees it, or null without an image. */
        SampleJob.Start read(SamplableModel model) throws IOException {
            if (image == null) {
                return null;
            }
            long[] shape = model.outputShape();
            if (shape.length != 3) {
                throw new IllegalArgumentException("--init-image: img2img and inpainting are for image models; "
                        + model.outputData() + " samples are not images");
            }
            Tensor data = ImageFile.read(image, (int) shape[0], (int) shape[2], (int) shape[1]);
            Tensor m = mask == null ? null : ImageFile.read(mask, 1, (int) shape[2], (int) shape[1]);
            return TrainOptions.named("--strength", () -> new SampleJob.Start(data.mul(Tensors.scalar(2))
                    .sub(Tensors.scalar(1)), strengthOrDefault(), m));
        }

        /** The strength given, else diffusers' defaults: 0.8 for img2img, 1 for inpainting. */
        double strengthOrDefault() {
            return strength != null ? strength : mask != null ? 1.0 : 0.8;
        }
    }

    /** As above, starting from {@code init}'s image (img2img) or inpainting its mask, when given. */
    static QualityReport sample(ModelSource source, SpecFor specFor, SampleJob.Conditioning conditioning,
                                Guidance guidance, Integer count, long seed, int batchSize, InitFiles init,
                                SampleOutput output, PrintStream out) throws IOException {
        if (count != null && count < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + count);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        Path[] inputs = source.inputs();
        if (init != null) {
            inputs = Stream.concat(Arrays.stream(inputs), Stream.of(init.image(), init.mask())).toArray(Path[]::new);
        }
        output.check(inputs);
        SamplableModel model = source.load(out);
        SampleJob.Start from = init == null ? null : init.read(model);
        String data = model.outputData();
        boolean everyClass = conditioning instanceof SampleJob.Conditioning.EveryClass;
        output.requireSuits(data, everyClass);
        boolean toy = Datasets.isToy(data);
        boolean signal = Datasets.isSignal(data);
        SamplerSpec spec = specFor.of(!toy && !signal, model.process(), model.isLatent());
        int n = count != null ? count : toy ? 2000 : signal ? 1000 : 64;
        int classes = Math.max(1, model.numClasses());
        SampleJob job = new SampleJob(spec, conditioning, guidance, everyClass ? (n + classes - 1) / classes : n, seed,
                batchSize, from);
        Generation.checkConditioning(model, job);
        if (from != null) {
            TrainOptions.named("--strength", () -> spec.startIndex(model.process(), from.strength()));
        }
        // Guidance runs the conditional and unconditional passes as one batch of twice the size.
        int passBatch = Math.min(batchSize, job.n());
        Models.requireFits(model.networkConfig(), (long) passBatch * (conditioning instanceof
                SampleJob.Conditioning.Unconditional ? 1 : 2), false, false, "sampling " + passBatch + " at once",
                "lower --batch-size");
        long start = System.nanoTime();
        Tensor samples = draw(model, job, output.gif(), out);
        double seconds = (System.nanoTime() - start) / 1e9;
        String label = spec.label(model.process().schedule());
        out.printf(Locale.ROOT, "sampled %d %s with %s%s%s in %.1f s%n", samples.size(0),
                toy ? "points" : signal ? "signals" : "images", label, describe(job), from == null ? ""
                        : String.format(Locale.ROOT, ", from %s at strength %s%s", init.image().getFileName(),
                        from.strength(), init.mask() == null ? "" : ", inpainting " + init.mask().getFileName()),
                seconds);
        int rowLength = everyClass ? job.n() : (int) Math.ceil(Math.sqrt(samples.size(0)));
        return output.write(data, samples, job, rowLength, label + (model.usedEma() ? " (EMA)" : ""), out);
    }

    /** Runs the job with a progress bar; records the first batch's trajectory to {@code gif} if given. */
    private static Tensor draw(SamplableModel model, SampleJob job, Path gif, PrintStream out) throws IOException {
        int evaluations = job.spec().evaluations(model.process().schedule());
        // About 50 frames whatever the step count.
        DenoisingGif recorder = gif == null ? null
                : new DenoisingGif(Math.min(job.n(), 8), Math.max(1, evaluations / 50));
        // Latent trajectories are shown decoded: the frames a user wants are images, not 4-channel latents.
        StepListener frames = recorder == null ? StepListener.NONE : !model.isLatent() ? recorder
                : (i, steps, xt, x0) -> recorder.onStep(i, steps, model.toOutput(xt, 256), model.toOutput(x0, 256));
        Tensor samples;
        try (ProgressBar pb = Progress.bar("sample", Generation.evaluations(model, job))) {
            samples = Generation.run(model, job, pb::step, frames);
        }
        if (recorder != null) {
            recorder.write(gif, 80);
            out.println("trajectory (x_t | predicted x0, " + recorder.frameCount() + " frames): " + gif);
        }
        return samples;
    }

    private static String describe(SampleJob job) {
        if (job.conditioning() instanceof SampleJob.Conditioning.OneClass c) {
            return String.format(Locale.ROOT, ", class %d, guidance %s", c.label(), job.guidance());
        }
        return job.conditioning() instanceof SampleJob.Conditioning.EveryClass
                ? ", every class, guidance " + job.guidance() : "";
    }
}
