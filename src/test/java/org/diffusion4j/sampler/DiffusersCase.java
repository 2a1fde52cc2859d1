package org.diffusion4j.sampler;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Function;
import org.assertj.core.api.Assertions;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.schedule.BetaSchedule;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;

/** One recorded diffusers DDPM/DDIM trajectory, turned into our inputs (float64 tensors). */
final class DiffusersCase {
    final Path file;
    final JsonNode json;
    final JsonNode config;
    final long[] shape;
    final NoiseSchedule schedule;
    final Parameterization prediction;
    final List<JsonNode> steps = new ArrayList<>();

    DiffusersCase(Path file) {
        this.file = file;
        this.json = Shared.read(file);
        this.config = json.get("full_config");
        this.shape = Shared.longs(json.get("shape"));
        this.schedule = NoiseSchedule.of(new ScheduleConfig(config.get("num_train_timesteps").asInt(),
                BetaSchedule.parse(config.get("beta_schedule").asText()), config.get("beta_start").asDouble(),
                config.get("beta_end").asDouble(), config.path("rescale_betas_zero_snr").asBoolean(false)));
        this.prediction = Parameterization.parse(config.get("prediction_type").asText());
        json.get("steps").forEach(steps::add);
    }

    String name() {
        return file.getFileName().toString();
    }

    int numInference() {
        return json.get("num_inference_steps").asInt();
    }

    TimestepSpacing spacing() {
        return TimestepSpacing.parse(config.get("timestep_spacing").asText());
    }

    Tensor tensor(JsonNode values) {
        return Tensors.fromDoubles(Shared.doubles(values), shape);
    }

    double[] values(JsonNode values) {
        return Shared.doubles(values);
    }

    Tensor initialSample() {
        return tensor(json.get("initial_sample"));
    }

    /** The shared README's fake model: tanh(0.5 x) * (1 + t / 1000), read through this case's prediction type. */
    Denoiser fakeModel() {
        return (x, level) -> prediction.toPrediction(torch.tanh(x.mul(Tensors.scalar(0.5)))
                .mul(Tensors.scalar(1 + level.timestep() / 1000)), x, level.alpha(), level.sigma());
    }

    /** A denoiser that returns the recorded model output of step i, whatever it is given. */
    Denoiser recordedModel(int i) {
        Tensor out = tensor(steps.get(i).get("model_output"));
        return (x, level) -> prediction.toPrediction(out, x, level.alpha(), level.sigma());
    }

    /** A sampler under test, as a function of its inputs. */
    @FunctionalInterface
    interface Sampler {
        Tensor run(Denoiser model, Tensor xT, List<Step> steps, NoiseSource noise, StepListener listener);
    }

    /**
     * Step-by-step replay: each step starts from the recorded sample, gets the recorded model output and noise, and
     * must give the recorded prev_sample and pred_original_sample.
     *
     * @return the largest error of the README's measure over all steps
     */
    double replayError(Sampler sampler, List<Step> ourSteps) {
        double worst = 0;
        for (int i = 0; i < ourSteps.size(); i++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor xi = i == 0 ? initialSample() : tensor(steps.get(i - 1).get("prev_sample"));
                double[][] x0 = new double[1][];
                Tensor next = sampler.run(recordedModel(i), xi, ourSteps.subList(i, i + 1), recordedNoise(i, i + 1),
                        (k, n, xt, p) -> x0[0] = Tensors.toDoubles(p));
                worst = Math.max(worst, Shared.maxRelError(Tensors.toDoubles(next), values(steps.get(i).get("prev_sample"))));
                worst = Math.max(worst, Shared.maxRelError(x0[0], values(steps.get(i).get("pred_original_sample"))));
            }
        }
        return worst;
    }

    /**
     * Closed loop: our whole trajectory with our own evaluation of the fake model and the recorded noise.
     *
     * @return the largest error against the recorded samples
     */
    double closedLoopError(Sampler sampler, List<Step> ourSteps) {
        try (PointerScope scope = new PointerScope()) {
            List<double[]> trajectory = new ArrayList<>();
            Tensor out = sampler.run(fakeModel(), initialSample(), ourSteps, recordedNoise(0, steps.size()),
                    (k, n, xt, p) -> trajectory.add(Tensors.toDoubles(xt)));
            trajectory.add(Tensors.toDoubles(out));
            if (trajectory.size() != steps.size() + 1) {
                throw new AssertionError(name() + ": ran " + (trajectory.size() - 1) + " steps, diffusers " + steps.size());
            }
            double worst = 0;
            for (int i = 0; i < steps.size(); i++) {
                worst = Math.max(worst, Shared.maxRelError(trajectory.get(i + 1), values(steps.get(i).get("prev_sample"))));
            }
            return worst;
        }
    }

    /** The README's tolerance for float64 implementations (max rel error over every element and step). */
    static final double TOLERANCE = 2e-5;

    /**
     * Checks every recorded case of {@code scheduler} (there must be {@code expectedCases}) both step by step and
     * closed loop, printing the errors.
     */
    static void assertConforms(String scheduler, int expectedCases,
                               Function<DiffusersCase, List<Step>> steps,
                               Function<DiffusersCase, Sampler> sampler) {
        List<Path> files = Shared.schedulerCases(scheduler);
        Assertions.assertThat(files).as(scheduler + " cases").hasSize(expectedCases);
        for (Path f : files) {
            DiffusersCase c = new DiffusersCase(f);
            double replay = c.replayError(sampler.apply(c), steps.apply(c));
            double loop = c.closedLoopError(sampler.apply(c), steps.apply(c));
            System.out.printf("%s max rel error: per-step replay %.2e, closed loop %.2e%n", c.name(), replay, loop);
            Assertions.assertThat(replay).as(c.name() + " per-step replay").isLessThanOrEqualTo(TOLERANCE);
            Assertions.assertThat(loop).as(c.name() + " closed loop").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /** Replays the recorded noise of steps [from, to) in order. */
    NoiseSource recordedNoise(int from, int to) {
        Deque<Tensor> queue = new ArrayDeque<>();
        for (int i = from; i < to; i++) {
            JsonNode n = steps.get(i).get("noise");
            if (!n.isNull()) {
                queue.add(tensor(n));
            }
        }
        return shape -> {
            if (queue.isEmpty()) {
                throw new AssertionError("sampler drew more noise than diffusers did");
            }
            return queue.poll();
        };
    }
}
