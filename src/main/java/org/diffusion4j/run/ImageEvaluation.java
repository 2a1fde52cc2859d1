package org.diffusion4j.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.eval.FeatureMetrics;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.Generation;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * Scores a set of images against a dataset in a feature extractor's space: FID, KID, k-NN precision/recall,
 * classifier confidence and the class histogram. Every score comes with the real-data floor: the same metrics for
 * as many real training images as there are samples, against the same reference. A model cannot be expected to beat
 * its floor, and FID's bias at small n shows in the floor too.
 *
 * <p>The reference set is n test-split images drawn without replacement with a fixed seed, so every evaluation of n
 * images uses the same reference.
 */
public final class ImageEvaluation {
    private ImageEvaluation() {}

    /** Fixed so that reports from different runs are comparable. */
    static final long REFERENCE_SEED = 0x5EED_F1DL;
    /** Neighbourhood size of precision/recall, as in Kynkäänniemi et al. 2019. */
    public static final int K = 3;
    /** KID subsets, and their size capped at 1000 as in Bińkowski et al. 2018. */
    public static final int KID_SUBSETS = 100;
    public static final int KID_SUBSET_SIZE = 1000;
    /** Enough to see the spread; each draw costs one pass of the extractor over n images. */
    public static final int MAX_FLOOR_DRAWS = 100;
    /** Rng streams 1-3 are the reference, the floor and KID; further floor draws take 10, 11, ... */
    static final long FIRST_FLOOR_DRAW_STREAM = 10;

    /**
     * The KID subset size for n images: at most half of them, so that subsets differ and the reported spread means
     * something (subsets of all n images would all be equal, with spread 0).
     */
    public static int kidSubsetSize(int n) {
        return Math.min(KID_SUBSET_SIZE, Math.max(2, n / 2));
    }

    /** How the scores were measured. */
    public record Protocol(int n, String reference, String realFloor, String extractor, String extractorSha256) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "protocol: %d images vs %d %s images (seeded draw without replacement); "
                    + "floor: %d %s images; features: %s (sha256 %s); KID: %d subsets of %d, precision/recall k=%d",
                    n, n, reference, n, realFloor, extractor, extractorSha256.substring(0, 12), KID_SUBSETS,
                    kidSubsetSize(n), K);
        }
    }

    /**
     * One set's scores.
     *
     * @param confidence mean top-class probability of the extractor's classifier
     * @param histogram  images per predicted class
     */
    public record Scores(double fid, FeatureMetrics.Estimate kid, FeatureMetrics.PrecisionRecall precisionRecall,
                         double confidence, int[] histogram) {
        public String row(String label) {
            StringBuilder h = new StringBuilder();
            for (int c : histogram) {
                h.append(h.length() == 0 ? "" : " ").append(c);
            }
            return String.format(Locale.ROOT, "%-10s FID %8.3f  KID %8.5f ± %.5f  precision %.3f  recall %.3f  "
                    + "confidence %.3f  classes [%s]", label, fid, kid.mean(), kid.std(), precisionRecall.precision(),
                    precisionRecall.recall(), confidence, h);
        }
    }

    /**
     * Scores of the images and of the real-data floor.
     *
     * @param floorDraws FID of further draws of n training images against the same reference, in draw order (empty
     *                   unless asked for): how far the floor itself moves with the images drawn
     */
    public record Report(Protocol protocol, Scores samples, Scores floor, double[] floorDraws) {
        public Report {
            floorDraws = floorDraws.clone();
        }

        /** FID of the samples over FID of the floor. */
        public double fidRatio() {
            return samples.fid() / floor.fid();
        }

        @Override
        public double[] floorDraws() {
            return floorDraws.clone();
        }

        @Override
        public String toString() {
            String s = protocol + "\n" + samples.row("samples") + "\n" + floor.row("real floor") + "\n"
                    + String.format(Locale.ROOT, "FID / floor = %.2f", fidRatio());
            if (floorDraws.length == 0) {
                return s;
            }
            double[] sorted = floorDraws.clone();
            Arrays.sort(sorted);
            int k = sorted.length;
            double median = k % 2 == 1 ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
            return s + String.format(Locale.ROOT, "%nreal draws: %d more draws of %d training images score FID "
                    + "%.3f-%.3f (median %.3f), %.2f-%.2f times the floor", k, protocol.n(), sorted[0],
                    sorted[k - 1], median, sorted[0] / floor.fid(), sorted[k - 1] / floor.fid());
        }
    }

    /** Refuses a count of further real draws outside [0, {@link #MAX_FLOOR_DRAWS}], naming it as {@code what}. */
    public static void requireFloorDraws(int floorDraws, String what) {
        if (floorDraws < 0 || floorDraws > MAX_FLOOR_DRAWS) {
            throw new IllegalArgumentException(what + " must be in [0, " + MAX_FLOOR_DRAWS + "], got " + floorDraws);
        }
    }

    /**
     * @param images    [n, C, H, W] in [-1, 1], n >= 2 and at most the test split's size
     * @param train     the training split (floor images)
     * @param test      the held-out split (reference images)
     * @param extractor its id and hash go into the protocol
     */
    public static Report evaluate(Tensor images, LabeledImages train, LabeledImages test, FeatureExtractor extractor,
                                  String extractorId, String extractorSha256) {
        return evaluate(images, train, test, extractor, extractorId, extractorSha256, 0);
    }

    /**
     * As {@link #evaluate(Tensor, LabeledImages, LabeledImages, FeatureExtractor, String, String)}, and also scores
     * {@code floorDraws} further draws of n training images (FID only), each with its own fixed seed: the spread of
     * a score that real data itself gets, to read the samples' ratio against.
     */
    public static Report evaluate(Tensor images, LabeledImages train, LabeledImages test, FeatureExtractor extractor,
                                  String extractorId, String extractorSha256, int floorDraws) {
        requireFloorDraws(floorDraws, "floorDraws");
        long[] shape = extractor.imageShape();
        Shapes.require(images, "images", Shapes.ANY, shape[0], shape[1], shape[2]);
        int n = Math.toIntExact(images.size(0));
        if (n <= K) {
            throw new IllegalArgumentException("evaluation needs more than " + K + " images, got " + n);
        }
        if (n > test.count() || n > train.count()) {
            throw new IllegalArgumentException("evaluation of " + n + " images needs as many reference images; "
                    + test.id() + " has " + test.count() + " and " + train.id() + " " + train.count());
        }
        for (LabeledImages d : new LabeledImages[] {train, test}) {
            if (d.channels() != shape[0] || d.height() != shape[1] || d.width() != shape[2]) {
                throw new IllegalArgumentException(d.id() + " has " + d.channels() + "x" + d.height() + "x"
                        + d.width() + " images; the extractor reads " + shape[0] + "x" + shape[1] + "x" + shape[2]);
            }
        }
        try (PointerScope scope = new PointerScope()) {
            FeatureExtractor.Output ref = extractor.applyAll(draw(test, n, Rng.derive(REFERENCE_SEED, 1)));
            FeatureExtractor.Output real = extractor.applyAll(draw(train, n, Rng.derive(REFERENCE_SEED, 2)));
            FeatureExtractor.Output gen = extractor.applyAll(images);
            FeatureMetrics.Stats refStats = FeatureMetrics.stats(ref.features());
            Scores s = score(gen, ref, refStats, extractor.classes(), Rng.derive(REFERENCE_SEED, 3));
            Scores f = score(real, ref, refStats, extractor.classes(), Rng.derive(REFERENCE_SEED, 3));
            double[] draws = new double[floorDraws];
            for (int i = 0; i < floorDraws; i++) {
                try (PointerScope step = new PointerScope()) {
                    Tensor more = draw(train, n, Rng.derive(REFERENCE_SEED, FIRST_FLOOR_DRAW_STREAM + i));
                    draws[i] = FeatureMetrics.fid(FeatureMetrics.stats(extractor.applyAll(more).features()), refStats);
                }
            }
            return new Report(new Protocol(n, test.id(), train.id(), extractorId, extractorSha256), s, f, draws);
        }
    }

    private static Scores score(FeatureExtractor.Output x, FeatureExtractor.Output ref, FeatureMetrics.Stats refStats,
                                int classes, Rng rng) {
        int n = Math.toIntExact(x.features().size(0));
        double fid = FeatureMetrics.fid(FeatureMetrics.stats(x.features()), refStats);
        FeatureMetrics.Estimate kid = FeatureMetrics.kid(x.features(), ref.features(), KID_SUBSETS,
                kidSubsetSize(n), rng);
        FeatureMetrics.PrecisionRecall pr = FeatureMetrics.precisionRecall(ref.features(), x.features(), K);
        var top = x.probabilities().max(1, false);
        double confidence = top.get0().mean().item_double();
        long[] pred = new long[n];
        top.get1().contiguous().data_ptr_long().get(pred);
        int[] hist = new int[classes];
        for (long p : pred) {
            hist[(int) p]++;
        }
        return new Scores(fid, kid, pr, confidence, hist);
    }

    /**
     * n samples of a model as 8-bit images would store them (clamped to [-1, 1], quantised to 256 levels), so that
     * scoring a checkpoint directly equals scoring its PNGs. A class-conditional model gets the classes in equal
     * shares (class k takes samples k, k + classes, ...) under {@code guidance}; sample i of class k depends only on
     * (seed, k, i).
     *
     * @return float32 [n, C, H, W]
     */
    public static Tensor generate(SamplableModel model, SamplerSpec spec, int n, Guidance guidance,
                                  long seed, int batchSize, Generation.Progress progress) {
        if (n < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + n);
        }
        int classes = model.numClasses();
        Tensor out;
        if (classes == 0) {
            out = Generation.run(model, new SampleJob(spec, SampleJob.Conditioning.NONE, guidance, n, seed, batchSize),
                    progress, StepListener.NONE);
        } else {
            List<Tensor> parts = new ArrayList<>();
            for (int k = 0; k < classes && k < n; k++) {
                SampleJob job = new SampleJob(spec, new SampleJob.Conditioning.OneClass(k), guidance,
                        share(n, classes, k), seed, batchSize);
                parts.add(Generation.run(model, job, progress, StepListener.NONE));
            }
            out = interleave(parts, n);
        }
        return out.clamp_min(Tensors.scalar(-1)).clamp_max(Tensors.scalar(1)).add(Tensors.scalar(1)).mul(Tensors.scalar(127.5))
                .round().div(Tensors.scalar(127.5)).sub(Tensors.scalar(1));
    }

    /** How many of n samples class k gets when the classes take turns (class k takes samples k, k + classes, ...). */
    static int share(int n, int classes, int k) {
        return (n - k + classes - 1) / classes;
    }

    /** Model evaluations {@link #generate} makes, for progress bars. */
    public static long totalSteps(SamplableModel model, SamplerSpec spec, int n, int batchSize) {
        int classes = model.numClasses();
        NoiseSchedule schedule = model.process().schedule();
        if (classes == 0) {
            return Generation.totalSteps(schedule, spec, n, batchSize);
        }
        long total = 0;
        for (int k = 0; k < classes && k < n; k++) {
            total += Generation.totalSteps(schedule, spec, share(n, classes, k), batchSize);
        }
        return total;
    }

    /** Sample i of the result is sample i / k of part i % k. */
    static Tensor interleave(List<Tensor> parts, int n) {
        long[] shape = Shapes.of(parts.get(0));
        shape[0] = n;
        Tensor out = torch.empty(shape);
        int k = parts.size();
        for (int i = 0; i < n; i++) {
            out.select(0, i).copy_(parts.get(i % k).select(0, i / k));
        }
        return out;
    }

    /** n images of {@code data} drawn without replacement, [n, C, H, W] in [-1, 1]. */
    static Tensor draw(LabeledImages data, int n, Rng rng) {
        Tensor idx = rng.randperm(data.count()).narrow(0, 0, n).contiguous();
        long[] order = new long[n];
        idx.data_ptr_long().get(order);
        int size = data.channels() * data.height() * data.width();
        float[] px = new float[n * size];
        for (int i = 0; i < n; i++) {
            int from = (int) order[i] * size;
            for (int j = 0; j < size; j++) {
                px[i * size + j] = (data.pixels()[from + j] & 0xff) / 127.5f - 1f;
            }
        }
        return Tensors.fromFloats(px, n, data.channels(), data.height(), data.width());
    }
}
