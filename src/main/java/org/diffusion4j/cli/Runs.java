package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.pipeline.Generation;
import org.diffusion4j.pipeline.LoadedModel;
import org.diffusion4j.pipeline.Models;
import org.diffusion4j.pipeline.QualityReport;
import org.diffusion4j.pipeline.RunSpec;
import org.diffusion4j.pipeline.SamplerSpec;
import org.diffusion4j.pipeline.ScatterPlot;
import org.diffusion4j.pipeline.TrainingRun;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.Trainer;

/** The CLI's two jobs, shared by the commands: train with a progress bar, and sample with a report. */
final class Runs {
    private Runs() {}

    /** Trains, writes the checkpoint and its loss CSV, prints a summary to {@code out}. */
    static void train(RunSpec spec, Path checkpoint, boolean overwrite, PrintStream out) throws IOException {
        Checkpoint.requireSafetensorsName(checkpoint);
        Path sidecar = Checkpoint.sidecarOf(checkpoint);
        Path lossCsv = OutputPaths.withSuffix(checkpoint, ".safetensors", ".loss.csv");
        OutputPaths.check(checkpoint, "--out", overwrite);
        OutputPaths.check(sidecar, "--out (sidecar)", overwrite);
        OutputPaths.check(lossCsv, "--out (loss log)", overwrite);
        StringBuilder csv = new StringBuilder("step,loss,lr,grad_norm\n");
        double[] recent = new double[100];
        long start = System.nanoTime();
        Trainer trainer;
        try (ProgressBar pb = Progress.bar("train", spec.train().steps())) {
            trainer = TrainingRun.run(spec, checkpoint, s -> {
                csv.append(s.step()).append(',').append(s.loss()).append(',').append(s.learningRate()).append(',')
                        .append(s.gradNorm()).append('\n');
                recent[(int) (s.step() % recent.length)] = s.loss();
                pb.step();
                if (s.step() % 10 == 0) {
                    pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", s.loss()));
                }
            });
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        AtomicFiles.write(lossCsv, csv.toString().getBytes(StandardCharsets.UTF_8));
        int window = (int) Math.min(recent.length, trainer.step());
        double mean = 0;
        for (int i = 0; i < window; i++) {
            mean += recent[i];
        }
        mean /= window;
        out.printf(Locale.ROOT, "trained %s %s on %s: %d steps in %.1f s (%.0f steps/s), %d parameters, "
                        + "mean loss of the last %d steps %.4f%n", Models.typeOf(trainer.network()),
                Models.configOf(trainer.network()), spec.data(),
                trainer.step(), seconds, trainer.step() / seconds,
                Parameters.count(trainer.network().module()), window, mean);
        out.printf("checkpoint: %s (+ %s), loss log: %s%n", checkpoint, sidecar.getFileName(), lossCsv);
    }

    /** Samples a checkpoint, reports quality against fresh data, and writes a scatter plot and optional CSV. */
    static QualityReport sample(Path checkpoint, SamplerSpec spec, int n, long seed, int batchSize, boolean useEma,
                                Path png, Path csv, boolean overwrite, PrintStream out) throws IOException {
        if (n < 2) {
            throw new IllegalArgumentException("--n must be >= 2, got " + n);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        Checkpoint.requireSafetensorsName(checkpoint);
        OutputPaths.check(png, "--out", overwrite, checkpoint, Checkpoint.sidecarOf(checkpoint));
        if (csv != null) {
            OutputPaths.check(csv, "--csv", overwrite, checkpoint, Checkpoint.sidecarOf(checkpoint));
        }
        LoadedModel model = LoadedModel.load(checkpoint, useEma);
        ToyDataset data = ToyDataset.parse(model.data());
        long start = System.nanoTime();
        Tensor samples;
        try (ProgressBar pb = Progress.bar("sample", Generation.totalSteps(model.schedule(), spec, n, batchSize))) {
            samples = Generation.sample(model.denoiser(), model.schedule(), spec, data.sampleShape(), n, seed,
                    batchSize, pb::step);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        QualityReport report = QualityReport.of(samples, data);
        float[] pts = Tensors.toFloats(samples);
        float[] ref = Tensors.toFloats(data.sample(n, Rng.derive(seed, -1)));
        String label = spec.kind().name().toLowerCase(Locale.ROOT) + "-" + spec.stepsFor(model.schedule()).size();
        ScatterPlot.writePng(ScatterPlot.render(new String[] {"data: " + data.id(), "samples: " + label
                + (model.usedEma() ? " (EMA)" : "")}, new float[][] {ref, pts}, report.toString()), png);
        if (csv != null) {
            StringBuilder sb = new StringBuilder("x,y\n");
            for (int i = 0; i + 1 < pts.length; i += 2) {
                sb.append(pts[i]).append(',').append(pts[i + 1]).append('\n');
            }
            AtomicFiles.write(csv, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        out.printf(Locale.ROOT, "sampled %d points with %s in %.1f s%n", n, label, seconds);
        out.println("quality vs fresh " + data.id() + " data: " + report);
        out.println("plot: " + png + (csv != null ? ", points: " + csv : ""));
        return report;
    }
}
