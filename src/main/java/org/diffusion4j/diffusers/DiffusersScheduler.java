package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.sampler.DdimSampler;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.DpmSolverSampler;
import org.diffusion4j.sampler.EulerAncestralSampler;
import org.diffusion4j.sampler.EulerSampler;
import org.diffusion4j.sampler.HeunSampler;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.OutputKind;
import org.diffusion4j.sampler.PndmSampler;
import org.diffusion4j.sampler.Step;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.schedule.BetaSchedule;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.Sigmas;
import org.diffusion4j.schedule.TimestepSpacing;

/**
 * A diffusers scheduler configuration turned into one of our samplers and the noise levels it walks: the only place
 * that knows diffusers' conventions. It reproduces {@code set_timesteps} (including its float32 tables) for DDPM,
 * DDIM, Euler, Euler ancestral, Heun, DPM-Solver++ (2M and SDE), PNDM (PLMS and PRK) and FlowMatch Euler. Every key
 * of the config must be known; a value we do not implement is an error naming the key.
 *
 * <p>Sample conventions: our samplers take and return x = alpha x0 + sigma eps. diffusers' Euler-family samples are
 * the variance-exploding s = x / alpha; {@link #stateScale} converts.
 */
public final class DiffusersScheduler {
    /** The scheduler classes supported, by diffusers class name. */
    public static final List<String> CLASSES = List.of("DDPMScheduler", "DDIMScheduler", "EulerDiscreteScheduler",
            "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler", "DPMSolverMultistepScheduler",
            "PNDMScheduler", "FlowMatchEulerDiscreteScheduler");

    private static final Set<String> IGNORED = Set.of("_class_name", "_diffusers_version");

    /**
     * Keys of other diffusers schedulers. A pipeline folder's scheduler config keeps them when it was made from
     * another scheduler's (Stable Diffusion's Euler config carries PNDM's skip_prk_steps and DDIM's clip_sample), and
     * diffusers ignores the ones its class does not take; so do we, while a key no scheduler has is still an error.
     */
    private static final Set<String> OTHER_SCHEDULERS = Set.of("clip_sample", "clip_sample_range", "set_alpha_to_one",
            "skip_prk_steps", "steps_offset", "timestep_spacing", "interpolation_type", "use_karras_sigmas",
            "use_beta_sigmas", "use_exponential_sigmas", "sigma_min", "sigma_max", "timestep_type",
            "final_sigmas_type", "rescale_betas_zero_snr", "thresholding", "dynamic_thresholding_ratio",
            "sample_max_value", "variance_type", "solver_order", "algorithm_type", "solver_type", "lower_order_final",
            "euler_at_final", "lambda_min_clipped", "use_lu_lambdas", "trained_betas", "prediction_type");

    /** Runs the configured sampler from level {@code from} of {@link #levels}. */
    @FunctionalInterface
    interface Run {
        Tensor sample(Denoiser model, Tensor x, int from, NoiseSource noise, StepListener listener);
    }

    private final String className;
    private final Parameterization prediction;
    private final NoiseSchedule schedule;
    private final List<NoiseLevel> levels;
    private final double[] diffusersSigmas;
    private final double initNoiseSigma;
    private final boolean varianceExploding;
    private final Run run;

    private DiffusersScheduler(String className, Parameterization prediction, NoiseSchedule schedule,
                               List<NoiseLevel> levels, double[] diffusersSigmas, double initNoiseSigma,
                               boolean varianceExploding, Run run) {
        this.className = className;
        this.prediction = prediction;
        this.schedule = schedule;
        this.levels = levels;
        this.diffusersSigmas = diffusersSigmas;
        this.initNoiseSigma = initNoiseSigma;
        this.varianceExploding = varianceExploding;
        this.run = run;
    }

    /**
     * Builds the scheduler as diffusers would after {@code set_timesteps(n, **setTimestepsKwargs)}.
     *
     * @param className  e.g. "EulerDiscreteScheduler"
     * @param config     the constructor's kwargs or the saved config (missing keys take diffusers' defaults)
     * @param stepKwargs the kwargs of every {@code step()} (DDIM's eta, Euler's s_churn, ...)
     * @throws IllegalArgumentException naming the key for anything unknown or unsupported
     */
    public static DiffusersScheduler of(String className, JsonNode config, int n, JsonNode setTimestepsKwargs,
                                        JsonNode stepKwargs) {
        requireSupported(className);
        Cfg c = new Cfg(className, config);
        Cfg step = new Cfg(className + " step()", stepKwargs);
        Cfg setTs = new Cfg(className + " set_timesteps()", setTimestepsKwargs);
        if (n < 1) {
            throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        }
        DiffusersScheduler s = switch (className) {
            case "DDPMScheduler" -> ddpm(c, n);
            case "DDIMScheduler" -> ddim(c, n, step.dbl("eta", 0));
            case "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler" -> euler(c, n, step,
                    className.startsWith("EulerAncestral"));
            case "HeunDiscreteScheduler" -> heun(c, n);
            case "DPMSolverMultistepScheduler" -> dpm(c, n);
            case "PNDMScheduler" -> pndm(c, n);
            case "FlowMatchEulerDiscreteScheduler" -> flowMatch(c, n, setTs);
            default -> throw new AssertionError(className);
        };
        c.requireAllRead();
        step.requireAllRead();
        setTs.requireAllRead();
        return s;
    }

    /** @throws IllegalArgumentException unless {@code className} is one of {@link #CLASSES} */
    public static void requireSupported(String className) {
        if (!CLASSES.contains(className)) {
            throw new IllegalArgumentException("scheduler class '" + className + "' is not supported; supported: "
                    + CLASSES);
        }
    }

    /** The diffusers class this reproduces. */
    public String className() {
        return className;
    }

    /** How the model's output is read (its prediction_type). */
    public Parameterization prediction() {
        return prediction;
    }

    /** The training schedule (null for flow matching). */
    public NoiseSchedule schedule() {
        return schedule;
    }

    /**
     * The DDPM process of the training schedule, which diffusion4j's own samplers walk in place of this scheduler.
     *
     * @throws IllegalArgumentException for a scheduler without one (flow matching)
     */
    public DiffusionProcess ddpmProcess() {
        if (schedule == null) {
            throw new IllegalArgumentException("sampler: " + className + " has no DDPM training schedule for "
                    + "diffusion4j's samplers; use the folder's scheduler");
        }
        return new DiffusionProcess.Ddpm(schedule);
    }

    /** The N+1 levels sampled through (the last is where sampling ends). */
    public List<NoiseLevel> levels() {
        return levels;
    }

    /** {@code scheduler.sigmas} as diffusers lays them out (Heun's interleaved), or null where it has none. */
    public double[] diffusersSigmas() {
        return diffusersSigmas == null ? null : diffusersSigmas.clone();
    }

    /** {@code scheduler.init_noise_sigma}: diffusers starts from randn * this. */
    public double initNoiseSigma() {
        return initNoiseSigma;
    }

    /** diffusers' sample at {@code level} is our x divided by this (alpha for the Euler family, else 1). */
    public double stateScale(NoiseLevel level) {
        return varianceExploding ? level.alpha() : 1;
    }

    /**
     * Samples from {@code xT} (our convention, at {@code levels().get(0)}); the listener sees every model evaluation.
     *
     * @return x at the last level
     */
    public Tensor sample(Denoiser model, Tensor xT, NoiseSource noise, StepListener listener) {
        return run.sample(model, xT, 0, noise, listener);
    }

    /**
     * Samples the schedule's tail from {@code x} at {@code levels().get(from)}, as diffusers' img2img and inpainting
     * pipelines run {@code timesteps[t_start * order:]}. Stateless steppers match diffusers exactly; PNDM starts its
     * multistep history afresh on the tail, where diffusers' PLMS keeps treating its second call as the repeated
     * first timestep of a whole run.
     *
     * @param from 0 to {@code levels().size() - 2}
     * @return x at the last level
     */
    public Tensor sample(Denoiser model, Tensor x, int from, NoiseSource noise, StepListener listener) {
        if (from < 0 || from > levels.size() - 2) {
            throw new IllegalArgumentException("start level must be in [0, " + (levels.size() - 2) + "], got " + from);
        }
        return run.sample(model, x, from, noise, listener);
    }

    /**
     * diffusers' img2img start: {@code t_start = N - int(N * strength)} of the N steps.
     *
     * @throws IllegalArgumentException when strength is outside (0, 1] or selects no step at all
     */
    public int startIndex(double strength) {
        return Steps.startIndex(levels.size() - 1, strength);
    }

    private static <T> List<T> tail(List<T> list, int from) {
        return list.subList(from, list.size());
    }

    // ---- DDPM and DDIM: our step lists already follow diffusers.

    private static DiffusersScheduler ddpm(Cfg c, int n) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        c.requireValue("thresholding", false);
        c.dbl("dynamic_thresholding_ratio", 0.995);
        c.dbl("sample_max_value", 1.0);
        String variance = c.str("variance_type", "fixed_small");
        DdpmSampler.Options options = new DdpmSampler.Options(DdpmSampler.Variance.parse(variance),
                c.bool("clip_sample", true), c.dbl("clip_sample_range", 1.0));
        List<Step> steps = Steps.ddpm(schedule, n, TimestepSpacing.parse(c.str("timestep_spacing", "leading")),
                c.integer("steps_offset", 0));
        return new DiffusersScheduler(c.className, prediction, schedule, stepLevels(steps), null, 1, false,
                (model, x, from, noise, listener) -> DdpmSampler.sample(model, x, tail(steps, from), noise, options,
                        listener));
    }

    private static DiffusersScheduler ddim(Cfg c, int n, double eta) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        c.requireValue("thresholding", false);
        c.dbl("dynamic_thresholding_ratio", 0.995);
        c.dbl("sample_max_value", 1.0);
        DdimSampler.Options options = new DdimSampler.Options(eta, c.bool("clip_sample", true),
                c.dbl("clip_sample_range", 1.0), false);
        List<Step> steps = Steps.ddim(schedule, n, TimestepSpacing.parse(c.str("timestep_spacing", "leading")),
                c.integer("steps_offset", 0), c.bool("set_alpha_to_one", true));
        return new DiffusersScheduler(c.className, prediction, schedule, stepLevels(steps), null, 1, false,
                (model, x, from, noise, listener) -> DdimSampler.sample(model, x, tail(steps, from), noise, options,
                        listener));
    }

    /** Each step's level and the last step's target (DDIM's steps need not chain, so no check here). */
    private static List<NoiseLevel> stepLevels(List<Step> steps) {
        List<NoiseLevel> out = new ArrayList<>();
        for (Step s : steps) {
            out.add(NoiseLevel.vp(s.timestep(), s.alphaBar()));
        }
        out.add(NoiseLevel.vp(0, steps.get(steps.size() - 1).alphaBarPrev()));
        return List.copyOf(out);
    }

    // ---- The Euler family: VE sigmas interpolated from float32 training sigmas.

    private static DiffusersScheduler euler(Cfg c, int n, Cfg step, boolean ancestral) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        boolean karras = !ancestral && c.bool("use_karras_sigmas", false);
        if (!ancestral) {
            c.requireValue("interpolation_type", "linear");
            c.requireValue("use_exponential_sigmas", false);
            c.requireValue("use_beta_sigmas", false);
            c.requireNull("sigma_min");
            c.requireNull("sigma_max");
            c.requireValue("timestep_type", "discrete");
            c.requireValue("final_sigmas_type", "zero");
        }
        boolean zeroSnr = c.bool("rescale_betas_zero_snr", false);
        String spacing = c.str("timestep_spacing", "linspace");
        double[] ts = eulerTimesteps(spacing, schedule.size(), n, c.integer("steps_offset", 0), true);
        double[] train = trainingSigmas(schedule, zeroSnr);
        double[] sigmas = interpolate(ts, train);
        if (karras) {
            sigmas = Sigmas.karras(sigmas[sigmas.length - 1], sigmas[0], n, 7.0);
            double[] logSigmas = logs32(train);
            for (int i = 0; i < n; i++) {
                ts[i] = f32(Sigmas.toTimestep(sigmas[i], logSigmas, true));
            }
        }
        double[] table = withZero(toF32(sigmas));
        List<NoiseLevel> levels = veLevels(ts, table);
        double max = table[0];
        double init = spacing.equals("linspace") || spacing.equals("trailing") ? max : Math.sqrt(max * max + 1);
        if (ancestral) {
            return new DiffusersScheduler(c.className, prediction, schedule, levels, table, init, true,
                    (model, x, from, noise, listener) -> EulerAncestralSampler.sample(model, x, tail(levels, from), noise,
                            listener));
        }
        EulerSampler.Options options = new EulerSampler.Options(step.dbl("s_churn", 0), step.dbl("s_tmin", 0),
                step.dbl("s_tmax", Double.POSITIVE_INFINITY), step.dbl("s_noise", 1), OutputKind.parse(prediction.id()));
        return new DiffusersScheduler(c.className, prediction, schedule, levels, table, init, true,
                (model, x, from, noise, listener) -> EulerSampler.sample(model, x, tail(levels, from), noise, options,
                        listener));
    }

    private static DiffusersScheduler heun(Cfg c, int n) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        c.requireValue("use_exponential_sigmas", false);
        c.requireValue("use_beta_sigmas", false);
        c.requireValue("clip_sample", false);
        c.dbl("clip_sample_range", 1.0);
        boolean karras = c.bool("use_karras_sigmas", false);
        String spacing = c.str("timestep_spacing", "linspace");
        double[] ts = eulerTimesteps(spacing, schedule.size(), n, c.integer("steps_offset", 0), false);
        double[] train = trainingSigmas(schedule, false);
        double[] sigmas = interpolate(ts, train);
        if (karras) {
            sigmas = Sigmas.karras(sigmas[sigmas.length - 1], sigmas[0], n, 7.0);
            double[] logSigmas = logs32(train);
            for (int i = 0; i < n; i++) {
                ts[i] = Sigmas.toTimestep(sigmas[i], logSigmas, true);
            }
        }
        for (int i = 0; i < n; i++) {
            ts[i] = f32(ts[i]);
        }
        double[] table = withZero(toF32(sigmas));
        List<NoiseLevel> levels = veLevels(ts, table);
        double[] interleaved = new double[2 * n];
        interleaved[0] = table[0];
        for (int i = 1; i < n; i++) {
            interleaved[2 * i - 1] = table[i];
            interleaved[2 * i] = table[i];
        }
        interleaved[2 * n - 1] = 0;
        double max = table[0];
        double init = spacing.equals("linspace") || spacing.equals("trailing") ? max : Math.sqrt(max * max + 1);
        return new DiffusersScheduler(c.className, prediction, schedule, levels, interleaved, init, true,
                (model, x, from, noise, listener) -> HeunSampler.sample(model, x, tail(levels, from), listener));
    }

    // ---- DPM-Solver++.

    private static DiffusersScheduler dpm(Cfg c, int n) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        int order = c.integer("solver_order", 2);
        String algorithm = c.str("algorithm_type", "dpmsolver++");
        if (!algorithm.equals("dpmsolver++") && !algorithm.equals("sde-dpmsolver++")) {
            throw new IllegalArgumentException(c.className + ": algorithm_type '" + algorithm
                    + "' is not supported (dpmsolver++ and sde-dpmsolver++ are)");
        }
        if (order == 3 && algorithm.startsWith("sde")) {
            // Our 3M SDE step (k-diffusion's dpmpp_3m_sde) has no recorded diffusers trajectory to conform to.
            throw new IllegalArgumentException(c.className + ": solver_order=3 with sde-dpmsolver++ is not supported "
                    + "for diffusers configs (use --sampler dpm++3m-sde, or solver_order 2)");
        }
        c.requireValue("thresholding", false);
        c.dbl("dynamic_thresholding_ratio", 0.995);
        c.dbl("sample_max_value", 1.0);
        c.requireValue("use_exponential_sigmas", false);
        c.requireValue("use_beta_sigmas", false);
        c.requireValue("use_lu_lambdas", false);
        c.requireValue("final_sigmas_type", "zero");
        c.requireNull("variance_type");
        DpmSolverSampler.Options options = new DpmSolverSampler.Options(order,
                DpmSolverSampler.SolverType.parse(c.str("solver_type", "midpoint")), algorithm.startsWith("sde"),
                // diffusers judges "fewer than 15 steps" on the whole schedule, also when img2img runs its tail.
                c.bool("lower_order_final", true) && n < 15, c.bool("euler_at_final", false));
        boolean karras = c.bool("use_karras_sigmas", false);
        boolean zeroSnr = c.bool("rescale_betas_zero_snr", false);
        double lambdaMin = c.dbl("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        int steps_offset = c.integer("steps_offset", 0);
        String spacing = c.str("timestep_spacing", "linspace");
        int T = schedule.size();
        double[] ac = schedule.alphasCumprod();
        if (zeroSnr) {
            ac[T - 1] = Math.pow(2, -24);
        }
        int clipped = 0;
        for (double a : ac) {
            float alpha = (float) Math.sqrt((float) a);
            float sigma = (float) Math.sqrt((float) (1f - (float) a));
            if ((float) (Math.log(alpha) - Math.log(sigma)) < lambdaMin) {
                clipped++;
            }
        }
        int last = T - clipped;
        double[] ts = new double[n];
        switch (spacing) {
            case "linspace" -> {
                for (int i = 0; i < n; i++) {
                    ts[i] = Math.rint(linspace(0, last - 1, n + 1, n - i));
                }
            }
            case "leading" -> {
                int ratio = last / (n + 1);
                for (int i = 0; i < n; i++) {
                    ts[i] = (double) (n - i) * ratio + steps_offset;
                }
            }
            case "trailing" -> {
                double ratio = (double) T / n;
                for (int i = 0; i < n; i++) {
                    ts[i] = Math.rint(last - i * ratio) - 1;
                }
            }
            default -> throw new IllegalArgumentException(c.className + ": timestep_spacing '" + spacing
                    + "' is not supported (linspace, leading, trailing)");
        }
        double[] train = Sigmas.trainingFloat32(ac);
        double[] sigmas;
        if (karras) {
            sigmas = Sigmas.karras(train[0], train[T - 1], n, 7.0);
            double[] logSigmas = logs32(train);
            for (int i = 0; i < n; i++) {
                ts[i] = Math.rint(Sigmas.toTimestep(sigmas[i], logSigmas, true));
            }
        } else {
            sigmas = interpolate(ts, train);
        }
        double[] table = withZero(toF32(sigmas));
        List<NoiseLevel> levels = new ArrayList<>();
        for (int i = 0; i <= n; i++) {
            double sigma = table[i];
            double alpha = 1 / Math.sqrt(sigma * sigma + 1);
            levels.add(new NoiseLevel(i < n ? ts[i] : 0, alpha, sigma * alpha));
        }
        List<NoiseLevel> fixed = List.copyOf(levels);
        return new DiffusersScheduler(c.className, prediction, schedule, fixed, table, 1, false,
                (model, x, from, noise, listener) -> DpmSolverSampler.sample(model, x, tail(fixed, from), noise, options,
                        listener));
    }

    // ---- PNDM.

    private static DiffusersScheduler pndm(Cfg c, int n) {
        NoiseSchedule schedule = trainingSchedule(c);
        Parameterization prediction = prediction(c);
        if (prediction == Parameterization.X0 || prediction == Parameterization.FLOW) {
            throw new IllegalArgumentException(c.className + ": prediction_type '" + prediction.id()
                    + "' is not supported by PNDM (epsilon, v_prediction)");
        }
        c.requireValue("timestep_spacing", "leading");
        boolean prk = !c.bool("skip_prk_steps", false);
        boolean alphaToOne = c.bool("set_alpha_to_one", false);
        int offset = c.integer("steps_offset", 0);
        int T = schedule.size();
        int ratio = T / n;
        if (prk && n < 4) {
            throw new IllegalArgumentException(c.className + ": PRK needs at least 4 inference steps, got " + n);
        }
        double finalAlphaBar = alphaToOne ? 1.0 : schedule.alphaBar(0);
        List<NoiseLevel> levels = new ArrayList<>();
        for (int i = n - 1; i >= 0; i--) {
            int t = i * ratio + offset;
            levels.add(NoiseLevel.vp(t, schedule.alphaBar(t)));
        }
        levels.add(NoiseLevel.vp(0, finalAlphaBar));
        List<PndmSampler.Midpoint> mids = new ArrayList<>();
        for (int i = 0; i + 1 < levels.size(); i++) {
            int t = (int) levels.get(i).timestep();
            int half = t - ratio / 2;
            int mid = t - ratio + ratio / 2;
            mids.add(new PndmSampler.Midpoint(level(schedule, half, finalAlphaBar), level(schedule, mid, finalAlphaBar)));
        }
        PndmSampler.Options options = new PndmSampler.Options(prk, OutputKind.parse(prediction.id()));
        List<NoiseLevel> fixed = List.copyOf(levels);
        return new DiffusersScheduler(c.className, prediction, schedule, fixed, null, 1, false,
                (model, x, from, noise, listener) -> PndmSampler.sample(model, x, tail(fixed, from),
                        mids.subList(from, mids.size()), options, listener));
    }

    private static NoiseLevel level(NoiseSchedule schedule, int t, double finalAlphaBar) {
        return NoiseLevel.vp(Math.max(t, 0), t >= 0 ? schedule.alphaBar(t) : finalAlphaBar);
    }

    // ---- FlowMatch Euler: sigma = t on the straight path, shifted.

    private static DiffusersScheduler flowMatch(Cfg c, int n, Cfg setTs) {
        int T = c.integer("num_train_timesteps", 1000);
        double shift = c.dbl("shift", 1.0);
        boolean dynamic = c.bool("use_dynamic_shifting", false);
        c.dbl("base_shift", 0.5);
        c.dbl("max_shift", 1.15);
        c.integer("base_image_seq_len", 256);
        c.integer("max_image_seq_len", 4096);
        c.requireValue("prediction_type", "flow_prediction");
        double mu = dynamic ? setTs.dbl("mu", Double.NaN) : Double.NaN;
        if (dynamic && Double.isNaN(mu)) {
            throw new IllegalArgumentException(c.className + ": use_dynamic_shifting needs set_timesteps(mu=...)");
        }
        // __init__: sigmas = linspace(1, T, T, float32)[::-1] / T, shifted unless dynamic; keep the extremes.
        float sMax = (float) T / T;
        float sMin = 1f / T;
        if (!dynamic) {
            // float32 arithmetic, as on diffusers' float32 tensor.
            sMax = (float) shift * sMax / (1f + (float) (shift - 1) * sMax);
            sMin = (float) shift * sMin / (1f + (float) (shift - 1) * sMin);
        }
        double[] table = new double[n + 1];
        List<NoiseLevel> levels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double t = linspace((double) sMax * T, (double) sMin * T, n, i);
            double s = t / T;
            s = dynamic ? Math.exp(mu) / (Math.exp(mu) + (1 / s - 1)) : shift * s / (1 + (shift - 1) * s);
            float sigma = (float) s;
            table[i] = sigma;
            levels.add(new NoiseLevel(sigma * (float) T, 1 - (double) sigma, sigma));
        }
        levels.add(new NoiseLevel(0, 1, 0));
        List<NoiseLevel> fixed = List.copyOf(levels);
        EulerSampler.Options options = EulerSampler.Options.deterministic();
        return new DiffusersScheduler(c.className, Parameterization.FLOW, null, fixed, table, 1, false,
                (model, x, from, noise, listener) -> EulerSampler.sample(model, x, tail(fixed, from), noise, options,
                        listener));
    }

    // ---- Shared table helpers (float32 where diffusers computes in float32).

    private static NoiseSchedule trainingSchedule(Cfg c) {
        if (!c.isNull("trained_betas")) {
            throw new IllegalArgumentException(c.className + ": trained_betas is not supported");
        }
        return NoiseSchedule.of(new ScheduleConfig(c.integer("num_train_timesteps", 1000),
                BetaSchedule.parse(c.str("beta_schedule", "linear")), c.dbl("beta_start", 0.0001),
                c.dbl("beta_end", 0.02), c.bool("rescale_betas_zero_snr", false)));
    }

    private static Parameterization prediction(Cfg c) {
        String p = c.str("prediction_type", "epsilon");
        if (!List.of("epsilon", "sample", "v_prediction").contains(p)) {
            throw new IllegalArgumentException(c.className + ": prediction_type '" + p
                    + "' is not supported (epsilon, sample, v_prediction)");
        }
        return Parameterization.parse(p);
    }

    /** Training sigmas in float32; Euler and DPM clamp a zero terminal alpha-bar to 2^-24 first. */
    private static double[] trainingSigmas(NoiseSchedule schedule, boolean zeroSnr) {
        double[] ac = schedule.alphasCumprod();
        if (zeroSnr) {
            ac[ac.length - 1] = Math.pow(2, -24);
        }
        return Sigmas.trainingFloat32(ac);
    }

    /** Euler / Heun set_timesteps: float timesteps for each spacing. */
    private static double[] eulerTimesteps(String spacing, int T, int n, int offset, boolean float32) {
        double[] ts = new double[n];
        switch (spacing) {
            case "linspace" -> {
                for (int i = 0; i < n; i++) {
                    double v = linspace(0, T - 1, n, n - 1 - i);
                    ts[i] = float32 ? f32(v) : v;
                }
            }
            case "leading" -> {
                int ratio = T / n;
                for (int i = 0; i < n; i++) {
                    ts[i] = (double) (n - 1 - i) * ratio + offset;
                }
            }
            case "trailing" -> {
                double ratio = (double) T / n;
                for (int i = 0; i < n; i++) {
                    ts[i] = Math.rint(T - i * ratio) - 1;
                }
            }
            default -> throw new IllegalArgumentException("timestep_spacing '" + spacing
                    + "' is not supported (linspace, leading, trailing)");
        }
        return ts;
    }

    /** numpy.linspace(start, stop, num)[i]. */
    private static double linspace(double start, double stop, int num, int i) {
        if (num == 1) {
            return start;
        }
        if (i == num - 1) {
            return stop;
        }
        double step = (stop - start) / (num - 1);
        return i * step + start;
    }

    /** numpy.interp(x, arange(len(y)), y) for x in [0, len(y) - 1]. */
    private static double[] interpolate(double[] x, double[] y) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int j = (int) Math.floor(x[i]);
            if (j >= y.length - 1) {
                out[i] = y[y.length - 1];
            } else {
                double slope = (y[j + 1] - y[j]);
                out[i] = slope * (x[i] - j) + y[j];
            }
        }
        return out;
    }

    private static double[] logs32(double[] sigmas) {
        double[] out = new double[sigmas.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) Math.log(sigmas[i]);
        }
        return out;
    }

    private static List<NoiseLevel> veLevels(double[] ts, double[] table) {
        List<NoiseLevel> levels = new ArrayList<>();
        for (int i = 0; i < table.length; i++) {
            double sigma = table[i];
            double alpha = 1 / Math.sqrt(sigma * sigma + 1);
            levels.add(new NoiseLevel(i < ts.length ? ts[i] : 0, alpha, sigma * alpha));
        }
        return List.copyOf(levels);
    }

    private static double[] withZero(double[] sigmas) {
        double[] out = Arrays.copyOf(sigmas, sigmas.length + 1);
        out[sigmas.length] = 0;
        return out;
    }

    private static double[] toF32(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = f32(v[i]);
        }
        return out;
    }

    private static double f32(double v) {
        return (float) v;
    }

    /** A config object whose every key must be read (or be a known bookkeeping key) before it is accepted. */
    private static final class Cfg {
        final String className;
        final JsonNode json;
        final Set<String> read = new HashSet<>();

        Cfg(String className, JsonNode json) {
            this.className = className;
            this.json = json == null || json.isNull() ? JsonNodeFactory.instance
                    .objectNode() : json;
            if (!this.json.isObject()) {
                throw new IllegalArgumentException(className + ": config must be a JSON object");
            }
        }

        boolean isNull(String key) {
            read.add(key);
            return !json.has(key) || json.get(key).isNull();
        }

        private JsonNode get(String key) {
            read.add(key);
            return json.get(key);
        }

        String str(String key, String fallback) {
            JsonNode v = get(key);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isTextual()) {
                throw new IllegalArgumentException(className + ": '" + key + "' must be a string, got " + v);
            }
            return v.asText();
        }

        double dbl(String key, double fallback) {
            JsonNode v = get(key);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (v.isTextual() && Map.of("-Infinity", 0, "Infinity", 0).containsKey(v.asText())) {
                return v.asText().startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            }
            if (!v.isNumber()) {
                throw new IllegalArgumentException(className + ": '" + key + "' must be a number, got " + v);
            }
            return v.asDouble();
        }

        int integer(String key, int fallback) {
            JsonNode v = get(key);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.canConvertToInt() || !v.isIntegralNumber()) {
                throw new IllegalArgumentException(className + ": '" + key + "' must be an integer, got " + v);
            }
            return v.asInt();
        }

        boolean bool(String key, boolean fallback) {
            JsonNode v = get(key);
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw new IllegalArgumentException(className + ": '" + key + "' must be true or false, got " + v);
            }
            return v.asBoolean();
        }

        void requireValue(String key, Object supported) {
            JsonNode v = get(key);
            if (v == null || v.isNull()) {
                return;
            }
            Object actual = v.isBoolean() ? (Object) v.asBoolean() : v.isNumber() ? (Object) v.asDouble() : v.asText();
            if (!actual.equals(supported)) {
                throw new IllegalArgumentException(className + ": " + key + "=" + v + " is not supported (only "
                        + supported + ")");
            }
        }

        void requireNull(String key) {
            JsonNode v = get(key);
            if (v != null && !v.isNull()) {
                throw new IllegalArgumentException(className + ": " + key + "=" + v + " is not supported (only null)");
            }
        }

        void requireAllRead() {
            for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!read.contains(key) && !IGNORED.contains(key) && !OTHER_SCHEDULERS.contains(key)) {
                    throw new IllegalArgumentException(className + ": unknown config key '" + key + "'");
                }
            }
        }
    }
}
