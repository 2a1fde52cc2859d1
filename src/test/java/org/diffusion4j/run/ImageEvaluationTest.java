package org.diffusion4j.run;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.eval.Extractors;
import org.diffusion4j.eval.FeatureExtractor;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImageEvaluationTest {
    private static LabeledImages train;
    private static LabeledImages test;
    private static FeatureExtractor extractor;
    private static Extractors.Shipped shipped;

    @BeforeAll
    static void load() throws Exception {
        Torch.init();
        train = Datasets.images("mnist", null, true);
        test = Datasets.images("mnist", null, false);
        shipped = Extractors.shippedFor("mnist");
        extractor = Extractors.load(shipped);
    }

    private static ImageEvaluation.Report score(Tensor images) {
        return ImageEvaluation.evaluate(images, train, test, extractor, shipped.id(), shipped.sha256());
    }

    @Test
    void realImagesScoreAtTheFloorAndNoiseRaisesFidAndKid() {
        int n = 500;
        Tensor real = ImageEvaluation.draw(train, n, Rng.of(99));
        ImageEvaluation.Report r = score(real);
        assertThat(r.protocol().n()).isEqualTo(n);
        assertThat(r.protocol().reference()).isEqualTo("mnist/test");
        assertThat(r.toString()).contains("protocol: 500 images vs 500 mnist/test images", "mnist-v1",
                "real floor", "FID / floor");
        assertThat(r.floor().fid()).isPositive();
        assertThat(r.fidRatio()).isBetween(0.6, 1.5);
        assertThat(r.samples().precisionRecall().precision()).isGreaterThan(0.8);
        assertThat(r.samples().precisionRecall().recall()).isGreaterThan(0.8);
        assertThat(r.samples().confidence()).isGreaterThan(0.95);
        assertThat(Arrays.stream(r.samples().histogram()).sum()).isEqualTo(n);

        Tensor noisy = real.add(Rng.of(1).randn(n, 1, 28, 28).mul(Tensors.scalar(0.6)))
                .clamp_min(Tensors.scalar(-1)).clamp_max(Tensors.scalar(1));
        ImageEvaluation.Report damaged = score(noisy);
        assertThat(damaged.fidRatio()).isGreaterThan(5 * r.fidRatio());
        assertThat(damaged.samples().kid().mean()).isGreaterThan(10 * Math.abs(r.samples().kid().mean()));
        // Subsets of half the images differ, so KID reports a real spread (subsets of all 500 would not).
        assertThat(damaged.samples().kid().std()).isPositive();
        assertThat(damaged.samples().kid().std()).isLessThan(damaged.samples().kid().mean());
        assertThat(r.toString()).contains("KID: 100 subsets of 250");
        // The floor does not depend on what is scored.
        assertThat(damaged.floor().fid()).isEqualTo(r.floor().fid());
    }

    @Test
    void floorDrawsAreFurtherFixedDrawsOfRealImagesScoredAgainstTheSameReference() {
        Tensor real = ImageEvaluation.draw(train, 200, Rng.of(5));
        ImageEvaluation.Report plain = score(real);
        assertThat(plain.floorDraws()).isEmpty();
        assertThat(plain.toString()).doesNotContain("real draws");
        ImageEvaluation.Report r = ImageEvaluation.evaluate(real, train, test, extractor, shipped.id(),
                shipped.sha256(), 4);
        double[] draws = r.floorDraws();
        assertThat(draws).hasSize(4);
        // Other images than the floor's, so other scores, but of the same real data: near the floor.
        assertThat(Arrays.stream(draws).distinct().count()).isEqualTo(4);
        for (double d : draws) {
            assertThat(d).isNotEqualTo(r.floor().fid());
            assertThat(d / r.floor().fid()).isBetween(0.5, 2.0);
        }
        assertThat(r.floor().fid()).isEqualTo(plain.floor().fid());
        assertThat(r.samples().fid()).isEqualTo(plain.samples().fid());
        // Fixed seeds: the same draws every time, and the first draws do not depend on how many are asked for.
        double[] two = ImageEvaluation.evaluate(real, train, test, extractor, shipped.id(), shipped.sha256(), 2)
                .floorDraws();
        assertThat(two).containsExactly(draws[0], draws[1]);
        double lo = Arrays.stream(draws).min().orElseThrow();
        double hi = Arrays.stream(draws).max().orElseThrow();
        assertThat(r.toString()).contains(String.format(Locale.ROOT,
                "real draws: 4 more draws of 200 training images score FID %.3f-%.3f", lo, hi));
        assertThatThrownBy(() -> ImageEvaluation.evaluate(real, train, test, extractor, shipped.id(),
                shipped.sha256(), -1)).hasMessageContaining("floorDraws must be in [0, 100], got -1");
    }

    @Test
    void modeCollapseShowsInRecallAndTheClassHistogram() {
        int n = 300;
        int[] ones = new int[n];
        int found = 0;
        for (int i = 0; i < train.count() && found < n; i++) {
            if (train.labels()[i] == 1) {
                ones[found++] = i;
            }
        }
        Tensor images = torch.empty(n, 1, 28, 28);
        for (int i = 0; i < n; i++) {
            images.narrow(0, i, 1).copy_(train.slice(ones[i], 1));
        }
        ImageEvaluation.Report r = score(images);
        assertThat(r.samples().histogram()[1]).isGreaterThan((int) (0.95 * n));
        assertThat(r.samples().precisionRecall().recall()).isLessThan(0.3);
        assertThat(r.fidRatio()).isGreaterThan(5);
    }

    @Test
    void generatedSamplesAreQuantisedLikePngsAndClassesInterleave() throws Exception {
        LoadedModel model = LoadedModel.load(Path.of("models/mnist-unet.safetensors"), true);
        SamplerSpec spec = new SamplerSpec(SamplerSpec.Kind.EULER, 2, 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, true);
        int[] progress = {0};
        Tensor x = ImageEvaluation.generate(model, spec, 5, Guidance.of(1), 0, 3, () -> progress[0]++);
        // Two batches (3 + 2) of two steps: the progress bar's total is what generate reports.
        assertThat(progress[0]).isEqualTo(4);
        assertThat(ImageEvaluation.totalSteps(model, spec, 5, 3)).isEqualTo(4);
        assertThat(x.sizes().vec().get()).containsExactly(5, 1, 28, 28);
        Tensor levels = x.add(Tensors.scalar(1)).mul(Tensors.scalar(127.5));
        assertThat(levels.sub(levels.round()).abs().max().item_double()).isLessThan(1e-4);
        assertThat(x.min().item_double()).isGreaterThanOrEqualTo(-1);
        assertThat(x.max().item_double()).isLessThanOrEqualTo(1);

        Tensor a = Tensors.fromFloats(new float[] {0, 1, 2}, 3, 1);
        Tensor b = Tensors.fromFloats(new float[] {10, 11}, 2, 1);
        Tensor c = Tensors.fromFloats(new float[] {20, 21}, 2, 1);
        assertThat(Tensors.toFloats(ImageEvaluation.interleave(List.of(a, b, c), 7)))
                .containsExactly(0, 10, 20, 1, 11, 21, 2);
        // 7 samples over 3 classes taking turns: 3, 2 and 2, the part sizes interleave expects.
        assertThat(List.of(ImageEvaluation.share(7, 3, 0), ImageEvaluation.share(7, 3, 1),
                ImageEvaluation.share(7, 3, 2))).containsExactly(3, 2, 2);
    }

    @Test
    void refusesSetsItCannotScoreFairly() {
        assertThatThrownBy(() -> score(torch.zeros(3, 1, 28, 28))).hasMessageContaining("more than 3 images");
        assertThatThrownBy(() -> score(torch.zeros(10001, 1, 28, 28))).hasMessageContaining("10001 images needs");
        assertThatThrownBy(() -> score(torch.zeros(10, 3, 28, 28))).hasMessageContaining("images");
    }
}
