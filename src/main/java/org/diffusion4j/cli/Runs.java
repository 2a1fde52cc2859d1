package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.OutputLock;
import org.diffusion4j.data.RowDataset;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.data.Waveforms;
import org.diffusion4j.diffusers.DiffusersModel;
import org.diffusion4j.distributed.Collective;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.distributed.DistConfig;
import org.diffusion4j.distributed.GlooGroup;
import org.diffusion4j.eval.QualityReport;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.FiniteDenoiser;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.render.DenoisingGif;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.render.LinePlot;
import org.diffusion4j.render.ScatterPlot;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.run.LatentSpace;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.run.Models;
import org.diffusion4j.run.RunSpec;
import org.diffusion4j.run.TrainingRun;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
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
        train(spec, dataDir, checkpoint, policy, resume, overwrite, out, DistConfig.single(), DeviceSpec.CPU);
    }

    /**
     * As above, as one rank of a data-parallel job when {@code dist} says so: the ranks meet first, then every rank
     * checks its arguments and all stop if any rank found a problem (so no rank waits for a peer that already quit).
     * Only rank 0 shows progress and writes files. Training runs on {@code device}.
     */
    static void train(RunSpec spec, Path dataDir, Path checkpoint, TrainingRun.CheckpointPolicy policy, Path resume,
                      boolean overwrite, PrintStream out, DistConfig dist, DeviceSpec device) throws IOException {
        Checkpoint.requireSafetensorsName(checkpoint);
        boolean continuing = resume != null;
        if (continuing) {
            Checkpoint.requireSafetensorsName(resume);
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
            train(spec, dataDir, checkpoint, policy, resume, out, new DataParallel(group, dist.bucketBytes()), device);
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
                              Path resume, PrintStream out, DataParallel parallel, DeviceSpec device)
            throws IOException {
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
        long start = System.nanoTime();
        Trainer trainer;
        // One process: the first Ctrl-C or SIGTERM finishes the step and saves, a second quits at once. Ranks of a
        // data-parallel run would stop at different steps and wait on each other, so they keep the default.
        StopOnSignal stop = group.worldSize() == 1 ? StopOnSignal.install() : null;
        try (ProgressBar pb = writer ? Progress.bar("train", spec.train().steps()) : null; stop) {
            trainer = TrainingRun.run(spec, dataDir, checkpoint, policy, resume, s -> {
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
        double seconds = (System.nanoTime() - start) / 1e9;
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
                trainer.step(), ranks, continuing ? " (resumed from " + resume.getFileName() + ")" : "", seconds,
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

    /** How samples are written. */
    enum Format {
        /** One PNG: a scatter plot for 2-D data, a grid for images. */
        GRID,
        /** A folder of PNGs, one per sample (images only). */
        PNG
    }

    /** Samples a checkpoint with a fixed sampler and count. */
    static QualityReport sample(Path checkpoint, SamplerSpec spec, int n, long seed, int batchSize, boolean useEma,
                                Path target, Format format, Path csv, Path gif, boolean overwrite, PrintStream out,
                                DeviceSpec device) throws IOException {
        return sample(checkpoint, null, (images, process, latent) -> spec, null, Guidance.of(1), n,
                seed, batchSize, useEma, target, format, csv, gif, overwrite, out, device);
    }

    /**
     * Samples a checkpoint; for 2-D data reports quality against fresh data, for images writes a grid or PNGs.
     *
     * @param specFor the sampler, given whether the model is an image model, a flow-matching model and a latent
     *                diffusion model (defaults differ)
     * @param classLabel for a class-conditional model, the class to sample (null: its unconditional distribution;
     *                   -1: every class, one grid row each)
     * @param guidance   classifier-free guidance: weight w, rescale and interval ({@code Guidance.of(1)} = none)
     * @param count   number of samples, or null for the default (2000 points, 64 images)
     */
    static QualityReport sample(Path checkpoint, Path diffusers,
                                SpecFor specFor,
                                Integer classLabel, Guidance guidance, Integer count, long seed,
                                int batchSize, boolean useEma, Path target, Format format, Path csv, Path gif,
                                boolean overwrite, PrintStream out, DeviceSpec device) throws IOException {
        if (count != null && count < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + count);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        Path[] inputs;
        if (diffusers != null) {
            inputs = new Path[] {diffusers.resolve("diffusion_pytorch_model.safetensors"),
                    diffusers.resolve("unet").resolve("diffusion_pytorch_model.safetensors")};
        } else {
            Checkpoint.requireSafetensorsName(checkpoint);
            inputs = new Path[] {checkpoint, Checkpoint.sidecarOf(checkpoint)};
        }
        if (format == Format.PNG) {
            if (Files.exists(target) && !Files.isDirectory(target)) {
                throw new IllegalArgumentException("--out " + target + " is a file; --format png writes a folder");
            }
            if (Files.isDirectory(target) && !overwrite) {
                try (var files = Files.list(target)) {
                    if (files.findAny().isPresent()) {
                        throw new IllegalArgumentException("--out " + target + " is not empty; pass --overwrite");
                    }
                }
            }
        } else {
            OutputPaths.check(target, "--out", overwrite, inputs);
            OutputPaths.requireExtension(target, "--out", ".png");
        }
        if (csv != null) {
            OutputPaths.check(csv, "--csv", overwrite, inputs);
        }
        if (gif != null) {
            OutputPaths.check(gif, "--gif", overwrite, inputs);
            OutputPaths.requireExtension(gif, "--gif", ".gif");
        }
        Sampled model = diffusers != null ? Sampled.of(DiffusersModel.load(diffusers, device), diffusers)
                : Sampled.of(LoadedModel.load(checkpoint, useEma, device));
        if (diffusers != null) {
            out.println("diffusers model " + diffusers + ": " + Parameters.count(model.network()) + " parameters, "
                    + model.prediction() + " prediction, " + model.schedule().size() + " training steps");
        }
        Denoiser denoiser = model.denoiser();
        if (model.numClasses() > 0) {
            if (classLabel == null && !guidance.equals(Guidance.of(1))) {
                throw new IllegalArgumentException("--guidance needs --class: guidance pulls towards a class");
            }
            denoiser = classLabel == null || classLabel == -1
                    ? ClassifierFreeGuidance.unconditional(model.conditional(), model.numClasses())
                    : TrainOptions.named("--class/--guidance", () -> new ClassifierFreeGuidance(
                            model.conditional(), classLabel, model.numClasses(), guidance));
        } else if (classLabel != null || !guidance.equals(Guidance.of(1))) {
            throw new IllegalArgumentException("--class and --guidance are for class-conditional models (trained with "
                    + "--classes); " + model.data() + " was trained unconditionally");
        }
        denoiser = new FiniteDenoiser(denoiser);
        boolean toy = Datasets.isToy(model.data());
        boolean signal = Datasets.isSignal(model.data());
        if (signal && (format != Format.GRID || gif != null)) {
            throw new IllegalArgumentException("--format png and --gif are for image models; " + model.data()
                    + " is 1-D signal data");
        }
        boolean allClasses = classLabel != null && classLabel == -1;
        if (allClasses && (toy || signal || format != Format.GRID)) {
            throw new IllegalArgumentException("--class all makes an image grid with one row per class");
        }
        SamplerSpec spec = specFor.of(!toy && !signal, model.process(), model.latent() != null);
        int n = count != null ? count : toy ? 2000 : signal ? 1000 : 64;
        int perClass = allClasses ? (n + model.numClasses() - 1) / model.numClasses() : 0;
        // Every class is sampled on its own; guidance runs the conditional and unconditional passes as one batch of
        // twice the size.
        int passBatch = Math.min(batchSize, allClasses ? perClass : n);
        Models.requireFits(model.config(), (long) passBatch * (classLabel != null ? 2 : 1),
                false, false, "sampling " + passBatch + " at once", "lower --batch-size");
        if (allClasses) {
            n = perClass * model.numClasses();
        }
        if (toy && format == Format.PNG) {
            throw new IllegalArgumentException("--format png is for image models; " + model.data() + " is 2-D data");
        }
        long[] shape = model.shape();
        if (gif != null && toy) {
            throw new IllegalArgumentException("--gif is for image models; " + model.data() + " is 2-D data");
        }
        int totalSteps = spec.evaluations(model.schedule());
        // About 50 frames whatever the step count.
        DenoisingGif recorder = gif == null ? null : new DenoisingGif(Math.min(n, 8), Math.max(1, totalSteps / 50));
        // Latent trajectories are shown decoded: the frames a user wants are images, not 4-channel latents.
        StepListener frames = recorder == null ? StepListener.NONE : model.latent() == null ? recorder
                : (i, steps, xt, x0) -> recorder.onStep(i, steps, model.toImages(xt), model.toImages(x0));
        long start = System.nanoTime();
        Tensor samples;
        try (ProgressBar pb = Progress.bar("sample", Generation.totalSteps(model.schedule(), spec, n, batchSize))) {
            if (allClasses) {
                List<Tensor> rows = new ArrayList<>();
                for (int k = 0; k < model.numClasses(); k++) {
                    rows.add(Generation.sampleClass(model.conditional(), model.numClasses(), k, guidance,
                            model.process(), spec, shape, perClass, seed, batchSize, pb::step,
                            k == 0 ? frames : StepListener.NONE));
                }
                samples = torch.cat(new TensorVector(
                        rows.toArray(new Tensor[0])));
            } else {
                samples = Generation.sample(denoiser, model.process(), spec, shape, n, seed,
                        batchSize, pb::step, frames);
            }
        }
        if (!Tensors.allFinite(samples)) {
            // The per-class grid builds its guidance inside Generation, past the checked denoiser.
            throw new FiniteDenoiser.NonFiniteException("the samples are not finite (NaN or "
                    + "infinite); nothing was written");
        }
        samples = model.toImages(samples);
        double seconds = (System.nanoTime() - start) / 1e9;
        String label = spec.label(model.schedule());
        out.printf(Locale.ROOT, "sampled %d %s with %s%s in %.1f s%n", n, toy ? "points" : signal ? "signals" : "images", label,
                classLabel == null ? "" : allClasses ? ", every class, guidance " + guidance
                        : String.format(Locale.ROOT, ", class %d, guidance %s", classLabel, guidance),
                seconds);
        if (recorder != null) {
            recorder.write(gif, 80);
            out.println("trajectory (x_t | predicted x0, " + recorder.frameCount() + " frames): " + gif);
        }
        if (signal) {
            return writeSignals(model.data(), samples, label + (model.usedEma() ? " (EMA)" : ""), classLabel, seed,
                    target, csv, out);
        }
        if (!toy) {
            if (format == Format.PNG) {
                Files.createDirectories(target);
                for (int i = 0; i < n; i++) {
                    ImageGrid.writePng(ImageGrid.single(samples.narrow(0, i, 1)),
                            target.resolve(String.format("%06d.png", i)));
                }
                out.println("images: " + target + "/000000.png ... " + String.format("%06d.png", n - 1));
            } else {
                ImageGrid.writePng(ImageGrid.render(samples, allClasses ? perClass : (int) Math.ceil(Math.sqrt(n)), 2),
                        target);
                out.println("grid: " + target);
            }
            return null;
        }
        ToyDataset data = ToyDataset.parse(model.data());
        QualityReport report = QualityReport.of(samples, data, classLabel);
        float[] pts = Tensors.toFloats(samples);
        float[] ref = Tensors.toFloats(classLabel == null ? data.sample(n, Rng.derive(seed, -1))
                : data.sampleClass(n, classLabel, Rng.derive(seed, -1)));
        ImageGrid.writePng(ScatterPlot.render(new String[] {"data: " + data.id(), "samples: " + label
                + (model.usedEma() ? " (EMA)" : "")}, new float[][] {ref, pts}, report.toString()), target);
        if (csv != null) {
            StringBuilder sb = new StringBuilder("x,y\n");
            for (int i = 0; i + 1 < pts.length; i += 2) {
                sb.append(pts[i]).append(',').append(pts[i + 1]).append('\n');
            }
            AtomicFiles.write(csv, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        out.println("quality vs fresh " + data.id() + (classLabel == null ? "" : " class " + classLabel) + " data: "
                + report);
        out.println("plot: " + target + (csv != null ? ", points: " + csv : ""));
        return report;
    }

    /** What {@code sample} needs of a model, whichever format it came from. */
    private record Sampled(NetworkDenoiser denoiser,
                           DiffusionProcess process, String data, long[] shape, boolean usedEma,
                           org.bytedeco.pytorch.Module network, String prediction, int numClasses,
                           LatentSpace latent, NetworkConfig config) {
        NoiseSchedule schedule() {
            return process.schedule();
        }

        ConditionalDenoiser conditional() {
            return denoiser;
        }

        /** Decodes latents to images for a latent diffusion model; other samples pass through. */
        Tensor toImages(Tensor samples) {
            return latent == null ? samples : latent.decode(samples, 256);
        }

        static Sampled of(LoadedModel m) {
            return new Sampled(m.denoiser(), m.process(), m.data(), m.sampleShape(), m.usedEma(),
                    m.network().module(), m.train().prediction().id(), m.train().numClasses(), m.latent(),
                    Models.configOf(m.network()));
        }

        static Sampled of(DiffusersModel m, Path dir) {
            return new Sampled(m.denoiser(), new DiffusionProcess.Ddpm(m.schedule()), "diffusers:" + dir,
                    m.sampleShape(), false, m.network(), m.denoiser().parameterization().id(), 0, null,
                    m.network().config());
        }
    }

    /** 1-D signals: quality against fresh data, a line plot of 16 samples next to 16 real ones, and the CSV. */
    private static QualityReport writeSignals(String data, Tensor samples, String label, Integer classLabel, long seed,
                                              Path target, Path csv, PrintStream out) throws IOException {
        BiFunction<Integer, Rng, Tensor> fresh;
        if (data.equals(Waveforms.ID)) {
            var w = Waveforms.INSTANCE;
            fresh = (k, rng) -> classLabel == null ? w.sample(k, rng) : w.sampleClass(k, classLabel, rng);
        } else {
            var rows = RowDataset.read(Path.of(data.substring(Datasets.ROWS.length())));
            fresh = rows::sample;
        }
        QualityReport report = QualityReport.of(samples, fresh);
        int length = Math.toIntExact(samples.size(1));
        int shown = Math.toIntExact(Math.min(16, samples.size(0)));
        float[] pts = Tensors.toFloats(samples.narrow(0, 0, shown));
        float[] ref = Tensors.toFloats(fresh.apply(shown, Rng.derive(seed, -1)));
        ImageGrid.writePng(LinePlot.render(new String[] {"data: " + data.replaceFirst(
                "^rows:.*/", "rows:"), "samples: " + label}, new float[][] {ref, pts}, length, report.toString()), target);
        if (csv != null) {
            float[] all = Tensors.toFloats(samples);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < all.length; i++) {
                sb.append(all[i]).append((i + 1) % length == 0 ? "\n" : ",");
            }
            AtomicFiles.write(csv, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        out.println("quality vs fresh " + data + (classLabel == null ? "" : " class " + classLabel) + " data: " + report);
        out.println("plot: " + target + (csv != null ? ", signals: " + csv : ""));
        return report;
    }
}
