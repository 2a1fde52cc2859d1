package org.diffusion4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.diffusers.StableDiffusion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of {@code serve}: a web page that streams denoising live, and a REST API.
 *
 * <ul>
 *   <li>{@code GET /} the page; {@code GET /healthz}; {@code GET /v1/models} the models and limits;</li>
 *   <li>{@code POST /v1/generate} JSON parameters, answers a PNG grid or (format json) base64 PNGs; with
 *       {@code init_image} (a base64 PNG or JPEG), {@code strength} and {@code mask} it runs img2img or
 *       inpainting;</li>
 *   <li>{@code GET /v1/stream?...} the same parameters as a query; server-sent events {@code queued},
 *       {@code frame} (x_t and predicted x0 as PNG data URLs), then {@code done} or {@code error};</li>
 *   <li>{@code DELETE /v1/jobs/{id}} cancels a queued or running request; closing a stream cancels it too;</li>
 *   <li>{@code GET /v1/gallery} and {@code GET /v1/images/{id}.png}: finished images.</li>
 * </ul>
 *
 * <p>One sampler thread works through a bounded queue (the model already uses every core); a full queue answers
 * 503. Connection threads only wait and write, so a slow client holds its own thread and nothing else: a client
 * that has not sent its whole request within {@link #REQUEST_TIMEOUT_SECONDS} is disconnected, at most
 * {@link #MAX_CONNECTIONS} connections are open at once, {@link ServeConfig#httpThreads()} requests are handled at
 * once ({@code /healthz} is always answered) and {@link ServeConfig#perClient()} from one address. Every request
 * must carry a Host (and, if any, an Origin) naming this server: a DNS-rebinding page cannot reach it. Requests name
 * models; no request reads or writes a file.
 */
public final class Server implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Server.class);
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final int MAX_BODY = 64 * 1024;
    private static final String TIMEOUT_PROPERTY = "sun.net.httpserver.maxReqTime";
    private static final String CONNECTIONS_PROPERTY = "jdk.httpserver.maxConnections";

    /**
     * Seconds a client may take to send a request's headers and body before its connection is closed. The JDK server
     * reads this once per process, when its first server starts; {@code -Dsun.net.httpserver.maxReqTime=S} wins.
     */
    public static final long REQUEST_TIMEOUT_SECONDS;
    /**
     * Open connections, read or not, per process; more are closed as they arrive. {@code
     * -Djdk.httpserver.maxConnections=N} wins (0 or less: no limit).
     */
    public static final int MAX_CONNECTIONS;

    static {
        System.getProperties().putIfAbsent(TIMEOUT_PROPERTY, "10");
        System.getProperties().putIfAbsent(CONNECTIONS_PROPERTY, "256");
        REQUEST_TIMEOUT_SECONDS = Long.parseLong(System.getProperty(TIMEOUT_PROPERTY));
        MAX_CONNECTIONS = Integer.parseInt(System.getProperty(CONNECTIONS_PROPERTY));
    }

    private static final long KEEPALIVE_MILLIS = 10_000;
    private static final Map<String, String> STATIC = Map.of(
            "/", "index.html", "/index.html", "index.html", "/app.js", "app.js");

    private final Map<String, ServedModel> models;
    private final ServeConfig config;
    private final HttpServer http;
    private final ExecutorService connections;
    private final ThreadPoolExecutor sampler;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Map<String, GalleryItem> gallery;
    private final Set<String> hostNames = new TreeSet<>();
    private final SplittableRandom seeds;
    private final AtomicLong jobCounter = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger();
    private final Semaphore handling;
    private final Map<InetAddress, Integer> perClient = new ConcurrentHashMap<>();

    private record GalleryItem(String id, String label, byte[] png, double seconds) {}

    private Server(List<ServedModel> served, ServeConfig config, long seed) throws IOException {
        Map<String, ServedModel> byName = new LinkedHashMap<>();
        for (ServedModel m : served) {
            if (byName.put(m.name(), m) != null) {
                throw new IllegalArgumentException("--checkpoint: two models are named '" + m.name()
                        + "' (names come from file names; rename one)");
            }
        }
        if (byName.isEmpty()) {
            throw new IllegalArgumentException("--checkpoint: at least one model is needed");
        }
        this.models = Collections.unmodifiableMap(byName);
        this.config = config;
        this.seeds = new SplittableRandom(seed);
        int galleryCapacity = config.galleryCapacity();
        this.gallery = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, GalleryItem> eldest) {
                return size() > galleryCapacity;
            }
        });
        hostNames.addAll(List.of("localhost", "127.0.0.1", "[::1]"));
        InetAddress bind = InetAddress.getByName(config.host());
        if (!bind.isAnyLocalAddress()) {
            hostNames.add(config.host().contains(":") ? "[" + config.host() + "]" : config.host().toLowerCase(Locale.ROOT));
        }
        config.allowedHosts().forEach(h -> hostNames.add(h.toLowerCase(Locale.ROOT)));
        BlockingQueue<Runnable> queue = config.queueCapacity() == 0 ? new SynchronousQueue<>()
                : new ArrayBlockingQueue<>(config.queueCapacity());
        this.sampler = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, queue, r -> {
            Thread t = new Thread(r, "diffusion4j-sampler");
            t.setDaemon(true);
            return t;
        });
        this.handling = new Semaphore(config.httpThreads());
        AtomicInteger n = new AtomicInteger();
        // The JDK server reads a request's headers on an executor thread, blocking: a thread per open connection
        // keeps slow senders from holding the threads /healthz and everyone else need.
        this.connections = new ThreadPoolExecutor(0, MAX_CONNECTIONS > 0 ? MAX_CONNECTIONS + 1 : Integer.MAX_VALUE,
                30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "diffusion4j-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.http = HttpServer.create(new InetSocketAddress(bind, config.port()), 64);
        http.setExecutor(connections);
        http.createContext("/", this::handle);
    }

    /**
     * Starts serving {@code models} (names must be unique).
     *
     * @param seed seeds the seeds of requests that name none
     */
    public static Server start(List<ServedModel> models, ServeConfig config, long seed) throws IOException {
        Server s = new Server(models, config, seed);
        s.http.start();
        return s;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The page's address. */
    public String url() {
        String h = config.host();
        if (h.equals("0.0.0.0") || h.equals("::")) {
            h = "127.0.0.1"; // a wildcard bind is reachable on loopback too
        }
        return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port() + "/";
    }

    @Override
    public void close() {
        jobs.values().forEach(Job::cancel);
        http.stop(0);
        sampler.shutdownNow();
        connections.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        int status = 500;
        InetAddress client = ex.getRemoteAddress().getAddress();
        boolean counted = false;
        try {
            if (!ex.getRequestURI().getPath().equals("/healthz")) {
                if (!handling.tryAcquire()) {
                    ex.getResponseHeaders().set("Retry-After", "5");
                    status = error(ex, 503, "busy: " + config.httpThreads() + " requests are in progress");
                    return;
                }
                counted = true;
                if (perClient.merge(client, 1, Integer::sum) > config.perClient()) {
                    ex.getResponseHeaders().set("Retry-After", "5");
                    status = error(ex, 429, "too many requests in progress from " + client.getHostAddress()
                            + " (at most " + config.perClient() + ")");
                    return;
                }
            }
            status = route(ex);
        } catch (GenerateRequest.BadRequest e) {
            status = error(ex, 400, e.getMessage());
        } catch (IOException e) {
            status = -1; // the client went away; nothing to answer
            LOG.debug("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), e.toString());
        } catch (RuntimeException e) {
            LOG.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            status = error(ex, 500, "internal error (the server's log has the details)");
        } finally {
            if (counted) {
                perClient.computeIfPresent(client, (k, v) -> v == 1 ? null : v - 1);
                handling.release();
            }
            ex.close();
            LOG.info("{} {} {} {} ms", ex.getRequestMethod(), ex.getRequestURI().getPath(), status,
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    private int route(HttpExchange ex) throws IOException {
        String why = originProblem(ex);
        if (why != null) {
            return error(ex, 403, why);
        }
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        if (STATIC.containsKey(path)) {
            return method(ex, "GET") ? resource(ex, STATIC.get(path)) : 405;
        }
        switch (path) {
            case "/healthz":
                if (!method(ex, "GET")) {
                    return 405;
                }
                return json(ex, 200, JSON.objectNode().put("status", "ok").put("running", running.get())
                        .put("queued", sampler.getQueue().size()));
            case "/v1/models":
                return method(ex, "GET") ? json(ex, 200, describeModels()) : 405;
            case "/v1/generate":
                return method(ex, "POST") ? generate(ex) : 405;
            case "/v1/stream":
                return method(ex, "GET") ? stream(ex) : 405;
            case "/v1/gallery":
                return method(ex, "GET") ? json(ex, 200, describeGallery()) : 405;
            default:
                break;
        }
        if (path.startsWith("/v1/jobs/")) {
            if (!method(ex, "DELETE")) {
                return 405;
            }
            Job job = jobs.get(path.substring("/v1/jobs/".length()));
            if (job == null) {
                return error(ex, 404, "no queued or running request named '" + path.substring(9) + "'");
            }
            job.cancel();
            return json(ex, 200, JSON.objectNode().put("cancelled", job.id()));
        }
        if (path.startsWith("/v1/images/") && path.endsWith(".png")) {
            if (!method(ex, "GET")) {
                return 405;
            }
            GalleryItem item = gallery.get(path.substring("/v1/images/".length(), path.length() - 4));
            if (item == null) {
                return error(ex, 404, "no such image (the gallery keeps the last " + config.galleryCapacity() + ")");
            }
            ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + item.id() + ".png\"");
            return bytes(ex, 200, "image/png", item.png());
        }
        return error(ex, 404, "no such endpoint: " + path);
    }

    /** Null when Host (and Origin, if sent) name this server; else why not. */
    private String originProblem(HttpExchange ex) {
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null || !hostAllowed(host)) {
            return "Host header '" + host + "' does not name this server (DNS rebinding guard; start with "
                    + "--allow-host NAME to accept another name)";
        }
        String origin = ex.getRequestHeaders().getFirst("Origin");
        if (origin != null) {
            URI o;
            try {
                o = URI.create(origin);
            } catch (IllegalArgumentException e) {
                return "Origin header '" + origin + "' is not a URL";
            }
            if (!"http".equals(o.getScheme()) || o.getRawAuthority() == null || !hostAllowed(o.getRawAuthority())) {
                return "cross-origin request from '" + origin + "' refused";
            }
        }
        return null;
    }

    private boolean hostAllowed(String hostPort) {
        String h = hostPort.toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        String name = h;
        int port = 80;
        if (colon > h.lastIndexOf(']')) {
            name = h.substring(0, colon);
            try {
                port = Integer.parseInt(h.substring(colon + 1));
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return port == port() && hostNames.contains(name);
    }

    private ObjectNode describeModels() {
        ObjectNode root = JSON.objectNode();
        ArrayNode list = root.putArray("models");
        models.values().forEach(m -> list.add(m.describe()));
        root.putObject("limits").put("max_steps", config.maxSteps()).put("max_batch", config.maxBatch())
                .put("max_scale", config.maxScale()).put("queue", config.queueCapacity());
        return root;
    }

    private ObjectNode describeGallery() {
        ObjectNode root = JSON.objectNode();
        ArrayNode list = root.putArray("images");
        synchronized (gallery) {
            gallery.values().forEach(g -> list.addObject().put("id", g.id()).put("label", g.label())
                    .put("url", "/v1/images/" + g.id() + ".png").put("seconds", g.seconds()));
        }
        return root;
    }

    private Job submit(GenerateRequest request, boolean stream) {
        Job job = new Job(request, stream);
        if (jobs.putIfAbsent(job.id(), job) != null) {
            throw new GenerateRequest.BadRequest("id: a request named '" + job.id() + "' is already queued or running");
        }
        try {
            sampler.execute(() -> {
                running.incrementAndGet();
                try {
                    if (!job.cancelled()) {
                        Job.Result r = JobRunner.run(job);
                        gallery.put(job.id(), new GalleryItem(job.id(), request.summary(), r.grid(), r.seconds()));
                        job.result.complete(r);
                    }
                } catch (CancellationException e) {
                    job.result.completeExceptionally(e);
                } catch (RuntimeException | Error e) {
                    LOG.error("request {} ({}) failed", job.id(), request.summary(), e);
                    job.result.completeExceptionally(e);
                } finally {
                    running.decrementAndGet();
                    jobs.remove(job.id(), job);
                }
            });
        } catch (RejectedExecutionException e) {
            jobs.remove(job.id(), job);
            return null;
        }
        return job;
    }

    private GenerateRequest parse(Map<String, String> fields) {
        String id = "r" + jobCounter.incrementAndGet();
        long seed;
        synchronized (seeds) {
            seed = seeds.nextLong() >>> 1;
        }
        return GenerateRequest.parse(fields, models, config, seed, id);
    }

    private int generate(HttpExchange ex) throws IOException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).replaceFirst(";.*", "").strip().equals("application/json")) {
            // Also what keeps a cross-site HTML form (which cannot send this type) from submitting work.
            return error(ex, 415, "Content-Type: expected application/json, got "
                    + (type == null ? "none" : "'" + GenerateRequest.shown(type) + "'"));
        }
        byte[] body = readBody(ex);
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw new GenerateRequest.BadRequest("body: not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        GenerateRequest request = parse(GenerateRequest.fields(node));
        Job job = submit(request, false);
        if (job == null) {
            return busy(ex);
        }
        Job.Result r;
        try {
            r = job.result.get();
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            return error(ex, 503, "server shutting down");
        } catch (ExecutionException | CancellationException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof CancellationException) {
                return error(ex, 409, cause.getMessage());
            }
            return error(ex, 500, failure(cause));
        }
        ex.getResponseHeaders().set("X-Job-Id", job.id());
        ex.getResponseHeaders().set("X-Seed", Long.toString(request.seed()));
        if (request.format().equals("png")) {
            return bytes(ex, 200, "image/png", r.grid());
        }
        ObjectNode out = JSON.objectNode();
        out.put("id", job.id()).put("model", request.model().name())
                .put("sampler", request.samplerLabel())
                .put("seed", request.seed()).put("seconds", r.seconds());
        if (request.label() != null) {
            out.put("class", request.label()).put("guidance", request.guidance().scale());
        }
        if (request.prompted() != null) {
            StableDiffusion.Request p = request.prompted().request();
            out.put("prompt", p.prompt()).put("guidance", p.guidance());
            if (p.negativePrompt() != null) {
                out.put("negative_prompt", p.negativePrompt());
            }
            StableDiffusion.Init init = request.prompted().init();
            if (init != null) {
                out.put("strength", init.strength()).put("inpainting", init.mask() != null);
            }
        }
        if (request.start() != null) {
            out.put("strength", request.start().strength()).put("inpainting", request.start().mask() != null);
        }
        ArrayNode images = out.putArray("images");
        r.images().forEach(png -> images.add(Base64.getEncoder().encodeToString(png)));
        return json(ex, 200, out);
    }

    private int stream(HttpExchange ex) throws IOException {
        GenerateRequest request = parse(query(ex.getRequestURI()));
        Job job = submit(request, true);
        if (job == null) {
            return busy(ex);
        }
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            event(out, "queued", JSON.objectNode().put("id", job.id()).put("label", request.summary())
                    .put("seed", request.seed()).put("position", sampler.getQueue().size()));
            long seen = 0;
            while (true) {
                Job.Frame f = job.awaitFrame(seen, KEEPALIVE_MILLIS);
                if (f != null) {
                    seen = f.seq();
                    event(out, "frame", JSON.objectNode().put("index", f.index()).put("count", f.count())
                            .put("xt", dataUrl(f.xt())).put("x0", dataUrl(f.x0())));
                } else if (job.result.isDone()) {
                    break;
                } else {
                    // A comment line: keeps proxies from timing out, and finds a client that left while queued.
                    out.write(": waiting\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            }
            try {
                Job.Result r = job.result.get();
                event(out, "done", JSON.objectNode().put("id", job.id()).put("url", "/v1/images/" + job.id() + ".png")
                        .put("image", dataUrl(r.grid())).put("seconds", r.seconds()).put("label", request.summary()));
            } catch (ExecutionException | CancellationException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                event(out, "error", JSON.objectNode().put("error", cause instanceof CancellationException
                        ? cause.getMessage() : failure(cause)));
            }
        } catch (IOException e) {
            job.cancel(); // the client closed the stream: stop sampling for it
            throw e;
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
        }
        return 200;
    }

    private static void event(OutputStream out, String name, ObjectNode data) throws IOException {
        out.write(("event: " + name + "\ndata: " + data.toString() + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** What a client is told of a failed generation: the reason a user can act on, not Java's type names. */
    private static String failure(Throwable cause) {
        return cause instanceof IllegalArgumentException || cause instanceof IllegalStateException
                ? "generation failed: " + cause.getMessage()
                : "generation failed (the server's log has the details)";
    }

    private static String dataUrl(byte[] png) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    }

    private int busy(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Retry-After", "5");
        return error(ex, 503, "busy: " + config.queueCapacity() + " requests already wait; try again later");
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new LinkedHashMap<>();
        String q = uri.getRawQuery();
        if (q == null || q.isEmpty()) {
            return out;
        }
        for (String pair : q.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (out.put(k, v) != null) {
                throw new GenerateRequest.BadRequest(k + ": given twice");
            }
        }
        return out;
    }

    private static byte[] readBody(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) {
                throw new GenerateRequest.BadRequest("body: larger than " + MAX_BODY + " bytes");
            }
            return body;
        }
    }

    private static boolean method(HttpExchange ex, String allowed) throws IOException {
        boolean head = allowed.equals("GET") && ex.getRequestMethod().equals("HEAD");
        if (ex.getRequestMethod().equals(allowed) || head) {
            return true;
        }
        ex.getResponseHeaders().set("Allow", allowed.equals("GET") ? "GET, HEAD" : allowed);
        error(ex, 405, ex.getRequestMethod() + " is not allowed here; use " + allowed);
        return false;
    }

    private int resource(HttpExchange ex, String name) throws IOException {
        byte[] body;
        try (InputStream in = Server.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from the jar");
            }
            body = in.readAllBytes();
        }
        String type = name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/html; charset=utf-8";
        ex.getResponseHeaders().set("Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
        return bytes(ex, 200, type, body);
    }

    private static int json(HttpExchange ex, int status, JsonNode body) throws IOException {
        return bytes(ex, status, "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static int error(HttpExchange ex, int status, String message) {
        try {
            return json(ex, status, JSON.objectNode().put("error", message));
        } catch (IOException e) {
            return status; // headers already sent or client gone
        }
    }

    private static int bytes(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        if (ex.getRequestMethod().equals("HEAD")) {
            // A GET's headers without its body.
            ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            ex.close();
            return status;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
        return status;
    }
}
