package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class DiffusersSchedulerTest {
    private static ObjectNode obj(String json) throws IOException {
        return (ObjectNode) Json.MAPPER.readTree(json);
    }

    /** Our defaults are diffusers': the kwargs alone give the same levels and tables as the full saved config. */
    @Test
    void defaultsMatchDiffusersForEverySharedCase() {
        for (Path f : Shared.schedulerCases()) {
            JsonNode c = Shared.read(f);
            String cls = c.get("scheduler").asText();
            int n = c.get("num_inference_steps").asInt();
            DiffusersScheduler full = DiffusersScheduler.of(cls, c.get("full_config"), n, c.get("set_timesteps_kwargs"),
                    c.get("step_kwargs"));
            DiffusersScheduler kwargs = DiffusersScheduler.of(cls, c.get("config"), n, c.get("set_timesteps_kwargs"),
                    c.get("step_kwargs"));
            assertThat(kwargs.levels()).as(f.getFileName().toString()).isEqualTo(full.levels());
            assertThat(kwargs.diffusersSigmas()).isEqualTo(full.diffusersSigmas());
            assertThat(kwargs.initNoiseSigma()).isEqualTo(full.initNoiseSigma());
            assertThat(kwargs.prediction()).isEqualTo(full.prediction());
        }
    }

    @Test
    void levelsStartNoisyAndEndClean() throws IOException {
        DiffusersScheduler euler = DiffusersScheduler.of("EulerDiscreteScheduler", obj("{}"), 30, null, null);
        assertThat(euler.levels()).hasSize(31);
        assertThat(euler.levels().get(0).timestep()).isEqualTo(999);
        assertThat(euler.levels().get(30).sigma()).isZero();
        assertThat(euler.stateScale(euler.levels().get(0))).isEqualTo(euler.levels().get(0).alpha());
        DiffusersScheduler flow = DiffusersScheduler.of("FlowMatchEulerDiscreteScheduler", obj("{\"shift\": 3.0}"), 20,
                null, null);
        assertThat(flow.levels().get(0).alpha()).isZero();
        assertThat(flow.stateScale(flow.levels().get(0))).isEqualTo(1);
        assertThat(flow.schedule()).isNull();
    }

    @Test
    void rejectsWhatItDoesNotImplementNamingTheKey() throws IOException {
        String[][] cases = {
                {"EulerDiscreteScheduler", "{\"interpolation_type\": \"log_linear\"}", "interpolation_type=\"log_linear\" is not supported"},
                {"EulerDiscreteScheduler", "{\"final_sigmas_type\": \"sigma_min\"}", "final_sigmas_type"},
                {"EulerDiscreteScheduler", "{\"beta_start\": \"small\"}", "'beta_start' must be a number"},
                {"EulerDiscreteScheduler", "{\"timestep_spacing\": \"random\"}", "timestep_spacing 'random' is not supported"},
                {"DPMSolverMultistepScheduler", "{\"algorithm_type\": \"dpmsolver\"}", "algorithm_type 'dpmsolver' is not supported"},
                {"DPMSolverMultistepScheduler", "{\"solver_order\": 4}", "order must be 1, 2 or 3"},
                {"DPMSolverMultistepScheduler", "{\"solver_order\": 3, \"algorithm_type\": \"sde-dpmsolver++\"}",
                    "solver_order=3 with sde-dpmsolver++ is not supported"},
                {"DPMSolverMultistepScheduler", "{\"use_lu_lambdas\": true}", "use_lu_lambdas=true"},
                {"DDPMScheduler", "{\"variance_type\": \"learned\"}", "unknown variance type 'learned'"},
                {"DDPMScheduler", "{\"trained_betas\": [0.1, 0.2]}", "trained_betas is not supported"},
                {"DDIMScheduler", "{\"prediction_type\": \"flow\"}", "prediction_type 'flow' is not supported"},
                {"PNDMScheduler", "{\"prediction_type\": \"sample\"}", "not supported by PNDM"},
                {"HeunDiscreteScheduler", "{\"clip_sample\": true}", "clip_sample=true is not supported"},
                {"FlowMatchEulerDiscreteScheduler", "{\"use_dynamic_shifting\": true}", "needs set_timesteps(mu=...)"},
                {"DDIMScheduler", "{\"steps_offset\": 1.5}", "'steps_offset' must be an integer"},
                {"DDIMScheduler", "{\"clip_sampl\": true}", "unknown config key 'clip_sampl'"},
                {"UniPCMultistepScheduler", "{}", "scheduler class 'UniPCMultistepScheduler' is not supported"},
        };
        for (String[] c : cases) {
            ObjectNode config = obj(c[1]);
            assertThatThrownBy(() -> DiffusersScheduler.of(c[0], config, 10, null, null)).as(c[0] + " " + c[1])
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(c[2]);
        }
        assertThatThrownBy(() -> DiffusersScheduler.of("EulerDiscreteScheduler", obj("{}"), 10, null,
                obj("{\"s_churn\": 1, \"s_temperature\": 2}"))).hasMessageContaining("unknown config key 's_temperature'");
        assertThatThrownBy(() -> DiffusersScheduler.of("DDIMScheduler", obj("{}"), 0, null, null))
                .hasMessageContaining("num_inference_steps must be >= 1");
    }

    /** DDPM with diffusers' learned_range variance reads the model's variance, and refuses a model without one. */
    @Test
    void aLearnedRangeDdpmSchedulerNeedsAModelThatPredictsItsVariance() throws IOException {
        DiffusersScheduler s = DiffusersScheduler.of("DDPMScheduler", obj("{\"variance_type\": \"learned_range\"}"),
                10, null, null);
        try (PointerScope scope = new PointerScope()) {
            Tensor xT = Rng.of(1).randn(2, 3);
            Denoiser none = (x, level) -> new Prediction(x.mul(Tensors.scalar(0)), x);
            assertThatThrownBy(() -> s.sample(none, xT, NoiseSource.of(Rng.of(2)), StepListener.NONE))
                    .hasMessageContaining("predicts no variance");
            Denoiser with = (x, level) -> new Prediction(x.mul(Tensors.scalar(0)), x, x.mul(Tensors.scalar(0)));
            assertThat(Tensors.allFinite(s.sample(with, xT, NoiseSource.of(Rng.of(2)), StepListener.NONE))).isTrue();
        }
    }

    /** diffusion4j's samplers walk the training schedule: a DDPM one has it, flow matching has none, said by name. */
    @Test
    void onlySchedulersWithADdpmTrainingScheduleGiveOurSamplersAProcess() throws IOException {
        assertThat(DiffusersScheduler.of("DDIMScheduler", obj("{}"), 10, null, null).ddpmProcess()).isNotNull();
        assertThatThrownBy(() -> DiffusersScheduler.of("FlowMatchEulerDiscreteScheduler", obj("{}"), 10, null, null)
                .ddpmProcess()).hasMessageContaining("FlowMatchEulerDiscreteScheduler has no DDPM training schedule");
    }
}
