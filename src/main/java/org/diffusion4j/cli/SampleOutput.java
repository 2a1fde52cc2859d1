package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiFunction;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.data.RowDataset;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.data.Waveforms;
import org.diffusion4j.eval.QualityReport;
import org.diffusion4j.render.ImageGrid;
import org.diffusion4j.render.LinePlot;
import org.diffusion4j.render.ScatterPlot;
import org.diffusion4j.run.Datasets;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Where {@code sample} writes and how: a grid or a folder of PNGs for images, a scatter plot for 2-D points, a line
 * plot for 1-D signals, optionally the samples as CSV and the denoising as a GIF. Every file is written atomically.
 *
 * @param target the PNG, or the folder for {@link Format#PNG}
 * @param csv    also the samples as CSV (points and signals), or null
 * @param gif    also the first batch's trajectory, or null
 */
record SampleOutput(Path target, Format format, Path csv, Path gif, boolean overwrite) {
    /** How images are written. */
    enum Format {
        /** One PNG: a scatter plot for 2-D data, a grid for images. */
        GRID,
        /** A folder of PNGs, one per sample (images only). */
        PNG
    }

    /** One PNG, nothing else, never replacing a file. */
    static SampleOutput grid(Path target) {
        return new SampleOutput(target, Format.GRID, null, null, false);
    }

    /** Checks, before anything is loaded, that the outputs may be written and are none of {@code inputs}. */
    void check(Path... inputs) throws IOException {
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
    }

    /** Checks that these outputs suit samples of {@code data} (a dataset id), {@code everyClass} or not. */
    void requireSuits(String data, boolean everyClass) {
        boolean toy = Datasets.isToy(data);
        boolean signal = Datasets.isSignal(data);
        if (signal && (format != Format.GRID || gif != null)) {
            throw new IllegalArgumentException("--format png and --gif are for image models; " + data
                    + " is 1-D signal data");
        }
        if (everyClass && (toy || signal || format != Format.GRID)) {
            throw new IllegalArgumentException("--class all makes an image grid with one row per class");
        }
        if (toy && format == Format.PNG) {
            throw new IllegalArgumentException("--format png is for image models; " + data + " is 2-D data");
        }
        if (toy && gif != null) {
            throw new IllegalArgumentException("--gif is for image models; " + data + " is 2-D data");
        }
    }

    /**
     * Writes samples of {@code data}: images as a grid ({@code rowLength} per row) or PNGs; points and signals as a
     * plot beside fresh data, with their quality against it.
     *
     * @param samples [n, ...] as the user sees them
     * @param label   the sampler's label for plot legends
     * @return the quality report for points and signals; null for images
     */
    QualityReport write(String data, Tensor samples, SampleJob job, int rowLength, String label, PrintStream out)
            throws IOException {
        Integer classLabel = job.conditioning() instanceof SampleJob.Conditioning.OneClass c ? c.label() : null;
        if (Datasets.isSignal(data)) {
            return writeSignals(data, samples, label, classLabel, job.seed(), out);
        }
        if (Datasets.isToy(data)) {
            return writePoints(ToyDataset.parse(data), samples, label, classLabel, job.seed(), out);
        }
        int n = Math.toIntExact(samples.size(0));
        if (format == Format.PNG) {
            Files.createDirectories(target);
            for (int i = 0; i < n; i++) {
                ImageGrid.writePng(ImageGrid.single(samples.narrow(0, i, 1)),
                        target.resolve(String.format("%06d.png", i)));
            }
            out.println("images: " + target + "/000000.png ... " + String.format("%06d.png", n - 1));
        } else {
            ImageGrid.writePng(ImageGrid.render(samples, rowLength, 2), target);
            out.println("grid: " + target);
        }
        return null;
    }

    private QualityReport writePoints(ToyDataset data, Tensor samples, String label, Integer classLabel, long seed,
                                      PrintStream out) throws IOException {
        int n = Math.toIntExact(samples.size(0));
        QualityReport report = QualityReport.of(samples, data, classLabel);
        float[] pts = Tensors.toFloats(samples);
        float[] ref = Tensors.toFloats(classLabel == null ? data.sample(n, Rng.derive(seed, -1))
                : data.sampleClass(n, classLabel, Rng.derive(seed, -1)));
        ImageGrid.writePng(ScatterPlot.render(new String[] {"data: " + data.id(), "samples: " + label},
                new float[][] {ref, pts}, report.toString()), target);
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

    /** 1-D signals: quality against fresh data, a line plot of 16 samples next to 16 real ones, and the CSV. */
    private QualityReport writeSignals(String data, Tensor samples, String label, Integer classLabel, long seed,
                                       PrintStream out) throws IOException {
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
                "^rows:.*/", "rows:"), "samples: " + label}, new float[][] {ref, pts}, length, report.toString()),
                target);
        if (csv != null) {
            float[] all = Tensors.toFloats(samples);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < all.length; i++) {
                sb.append(all[i]).append((i + 1) % length == 0 ? "\n" : ",");
            }
            AtomicFiles.write(csv, sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        out.println("quality vs fresh " + data + (classLabel == null ? "" : " class " + classLabel) + " data: "
                + report);
        out.println("plot: " + target + (csv != null ? ", signals: " + csv : ""));
        return report;
    }
}
