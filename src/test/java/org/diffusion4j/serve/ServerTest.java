package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.diffusion4j.cli.Main;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.diffusers.PipelineExport;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    @TempDir
    static Path dir;
    static Server server;
    static String base;

    @BeforeAll
    static void start() throws IOException {
        Path cond = dir.resolve("digits-cond.safetensors");
        int code = Main.run("train", "--data", "mnist", "--classes", "10", "--channels", "8,8", "--steps", "2",
                "--batch-size", "4", "--out", cond.toString());
        assertThat(code).isZero();
        // A text-to-image pipeline with random weights (8x8 grey images), served beside them.
        Path pipe = dir.resolve("bars-text");
        try (PointerScope scope = new PointerScope()) {
            PipelineExport.write(pipe, TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 1,
                    List.of(List.of("a horizontal bar"), List.of("a vertical bar"))).build(Rng.of(0)),
                    AutoencoderConfig.of(8, 1, List.of(8, 16), 2).build(Rng.of(1)), 1, ScheduleConfig.ddpmDefault(),
                    Parameterization.EPS);
        }
        List<ServedModel> models = List.of(ServedModel.load(Path.of("models/mnist-unet.safetensors")),
                ServedModel.load(cond), ServedModel.loadDiffusers(pipe, DeviceSpec.CPU));
        // A queue of 2 so that the test can fill it.
        server = Server.start(models, new ServeConfig("127.0.0.1", 0, List.of(), 1000, 16, 8, 2, 50, 16, 8), 7);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<byte[]> post(String json) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/v1/generate"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(byte[] body) throws IOException {
        return JSON.readTree(body);
    }

    /** Raw HTTP/1.1, so that Host and Origin can be anything and a stream can be left unread or cut. */
    static Socket raw(String method, String path, String host, String origin) throws IOException {
        Socket s = new Socket("127.0.0.1", server.port());
        String req = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
                + (origin == null ? "" : "Origin: " + origin + "\r\n") + "Connection: close\r\n\r\n";
        s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    static String statusLine(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
    }

    static void awaitIdle() throws Exception {
        for (int i = 0; i < 600; i++) {
            JsonNode h = JSON.readTree(get("/healthz").body());
            if (h.get("running").asInt() == 0 && h.get("queued").asInt() == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("server still busy after 30 s: " + get("/healthz").body());
    }

    @Test
    void describesItselfAndItsModels() throws Exception {
        HttpResponse<String> health = get("/healthz");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(health.body()).get("status").asText()).isEqualTo("ok");
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertThat(models.get("models")).hasSize(3);
        JsonNode pipeline = models.get("models").get(2);
        assertThat(pipeline.get("name").asText()).isEqualTo("bars-text");
        assertThat(pipeline.get("prompts").asBoolean()).isTrue();
        assertThat(pipeline.get("default_guidance").asDouble()).isEqualTo(7.5);
        assertThat(pipeline.get("image_shape").toString()).isEqualTo("[1,8,8]");
        assertThat(models.get("models").get(0).get("prompts").asBoolean()).isFalse();
        JsonNode uncond = models.get("models").get(0);
        assertThat(uncond.get("name").asText()).isEqualTo("mnist-unet");
        assertThat(uncond.get("classes").asInt()).isZero();
        assertThat(uncond.get("image_shape").toString()).isEqualTo("[1,28,28]");
        assertThat(models.get("models").get(1).get("classes").asInt()).isEqualTo(10);
        assertThat(models.get("limits").get("max_batch").asInt()).isEqualTo(16);
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Security-Policy")).isPresent();
        assertThat(page.body()).contains("<script src=\"/app.js\">");
        assertThat(get("/app.js").body()).contains("/v1/stream");
    }

    @Test
    void aPipelineDrawsFromAPromptReproduciblyAndRefusesAClass() throws Exception {
        String body = "{\"model\":\"bars-text\",\"prompt\":\"a vertical bar\",\"negative_prompt\":\"a flat bar\","
                + "\"guidance\":3,\"steps\":3,\"seed\":4,\"batch\":2,\"format\":\"json\"}";
        HttpResponse<byte[]> r = post(body);
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        JsonNode out = json(r.body());
        assertThat(out.get("prompt").asText()).isEqualTo("a vertical bar");
        assertThat(out.get("negative_prompt").asText()).isEqualTo("a flat bar");
        assertThat(out.get("sampler").asText()).isEqualTo("DPMSolverMultistepScheduler-3");
        assertThat(out.get("guidance").asDouble()).isEqualTo(3.0);
        assertThat(out.get("images")).hasSize(2);
        var img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(out.get("images").get(0).asText())));
        assertThat(img.getWidth()).isEqualTo(8);
        // The same request gives the same bytes; another sampler runs too.
        assertThat(json(post(body).body()).get("images")).isEqualTo(out.get("images"));
        HttpResponse<byte[]> ddim = post("{\"model\":\"bars-text\",\"prompt\":\"a bar\",\"sampler\":\"ddim\","
                + "\"steps\":2,\"format\":\"json\"}");
        assertThat(ddim.statusCode()).isEqualTo(200);
        assertThat(json(ddim.body()).get("sampler").asText()).isEqualTo("ddim-2");

        // Inpainting through the pipeline: the image and mask are scaled to its 8x8, the top half is kept.
        HttpResponse<byte[]> inpaint = post("{\"model\":\"bars-text\",\"prompt\":\"a vertical bar\",\"steps\":4,"
                + "\"format\":\"json\",\"init_image\":\"" + GenerateRequestTest.png(false) + "\",\"mask\":\""
                + GenerateRequestTest.png(true) + "\"}");
        assertThat(inpaint.statusCode()).as(new String(inpaint.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        JsonNode painted = json(inpaint.body());
        assertThat(painted.get("inpainting").asBoolean()).isTrue();
        assertThat(painted.get("strength").asDouble()).isEqualTo(1.0);
        HttpResponse<byte[]> img2img = post("{\"model\":\"bars-text\",\"prompt\":\"a bar\",\"steps\":4,"
                + "\"strength\":0.5,\"format\":\"json\",\"init_image\":\"" + GenerateRequestTest.png(false) + "\"}");
        assertThat(json(img2img.body()).get("inpainting").asBoolean()).isFalse();
        HttpResponse<byte[]> none = post("{\"model\":\"bars-text\",\"prompt\":\"a bar\",\"steps\":4,"
                + "\"strength\":0.1,\"init_image\":\"" + GenerateRequestTest.png(false) + "\"}");
        assertThat(json(none.body()).get("error").asText()).startsWith("strength:");

        HttpResponse<byte[]> cls = post("{\"model\":\"bars-text\",\"class\":1}");
        assertThat(cls.statusCode()).isEqualTo(400);
        assertThat(json(cls.body()).get("error").asText()).contains("class", "takes a prompt");
        HttpResponse<byte[]> wrong = post("{\"model\":\"mnist-unet\",\"prompt\":\"a seven\"}");
        assertThat(wrong.statusCode()).isEqualTo(400);
        assertThat(json(wrong.body()).get("error").asText()).contains("prompt", "not a text-to-image pipeline");
        HttpResponse<byte[]> sampler = post("{\"model\":\"bars-text\",\"prompt\":\"a\",\"sampler\":\"nope\"}");
        assertThat(sampler.statusCode()).isEqualTo(400);
        assertThat(json(sampler.body()).get("error").asText()).contains("sampler", "'scheduler'");
        HttpResponse<byte[]> strength = post("{\"model\":\"bars-text\",\"prompt\":\"a\",\"strength\":0.5}");
        assertThat(json(strength.body()).get("error").asText()).contains("strength: needs init_image");
        awaitIdle();
    }

    @Test
    void generatesPngsAndBase64JsonReproduciblyBySeed() throws Exception {
        HttpResponse<byte[]> png = post("{\"model\":\"mnist-unet\",\"steps\":3,\"seed\":5,\"batch\":4,\"scale\":2}");
        assertThat(png.statusCode()).as(new String(png.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        assertThat(png.headers().firstValue("Content-Type")).contains("image/png");
        BufferedImage grid = ImageIO.read(new ByteArrayInputStream(png.body()));
        // 2x2 grid of 56-pixel images with 2-pixel borders.
        assertThat(grid.getWidth()).isEqualTo(2 * (56 + 2) + 2);
        HttpResponse<byte[]> a = post("{\"model\":\"mnist-unet\",\"steps\":3,\"seed\":5,\"batch\":2,\"format\":\"json\"}");
        HttpResponse<byte[]> b = post("{\"model\":\"mnist-unet\",\"steps\":3,\"seed\":5,\"batch\":2,\"format\":\"json\"}");
        HttpResponse<byte[]> c = post("{\"model\":\"mnist-unet\",\"steps\":3,\"seed\":6,\"batch\":2,\"format\":\"json\"}");
        JsonNode ja = json(a.body());
        assertThat(ja.get("sampler").asText()).isEqualTo("dpm++3m-sde-3");
        assertThat(ja.get("seed").asLong()).isEqualTo(5);
        assertThat(ja.get("images")).hasSize(2);
        BufferedImage one = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(
                ja.get("images").get(0).asText())));
        assertThat(one.getWidth()).isEqualTo(28);
        assertThat(json(b.body()).get("images")).isEqualTo(ja.get("images"));
        assertThat(json(c.body()).get("images")).isNotEqualTo(ja.get("images"));
        HttpResponse<byte[]> cond = post("{\"model\":\"digits-cond\",\"steps\":2,\"class\":3,\"guidance\":2,"
                + "\"format\":\"json\"}");
        assertThat(cond.statusCode()).isEqualTo(200);
        assertThat(json(cond.body()).get("class").asInt()).isEqualTo(3);
        JsonNode gallery = JSON.readTree(get("/v1/gallery").body());
        String id = ja.get("id").asText();
        assertThat(gallery.get("images").findValuesAsText("id")).contains(id);
        HttpResponse<byte[]> download = CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/v1/images/" + id
                + ".png")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(download.headers().firstValue("Content-Disposition").orElse("")).contains(id + ".png");
    }

    /** POST with init_image and mask: inpainting keeps the unmasked top half of the uploaded digit. */
    @Test
    void inpaintsAnUploadedImageKeepingWhatTheMaskKeeps() throws Exception {
        String init = GenerateRequestTest.png(false);
        HttpResponse<byte[]> r = post("{\"model\":\"mnist-unet\",\"steps\":4,\"seed\":1,\"format\":\"json\","
                + "\"init_image\":\"" + init + "\",\"mask\":\"" + GenerateRequestTest.png(true) + "\"}");
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.get("inpainting").asBoolean()).isTrue();
        assertThat(body.get("strength").asDouble()).isEqualTo(1.0);
        BufferedImage out = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(
                body.get("images").get(0).asText())));
        BufferedImage in = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(init)));
        boolean bottomChanged = false;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int got = out.getRGB(x, y) & 0xff;
                int want = in.getRaster().getSample(x, y, 0);
                if (y < 14) {
                    assertThat(Math.abs(got - want)).as("kept pixel (%d, %d)", x, y).isLessThanOrEqualTo(1);
                } else {
                    bottomChanged |= Math.abs(got - want) > 8;
                }
            }
        }
        assertThat(bottomChanged).as("the masked half is repainted").isTrue();
        HttpResponse<byte[]> bad = post("{\"model\":\"mnist-unet\",\"mask\":\"" + GenerateRequestTest.png(true)
                + "\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad.body()).get("error").asText()).isEqualTo("mask: needs init_image");
    }

    @Test
    void badParametersAre400WithAJsonMessage() throws Exception {
        String[][] cases = {
            {"{\"model\":\"nope\"}", "unknown model 'nope'"},
            {"{\"steps\":3}", "model: required when several are served"},
            {"{\"model\":\"mnist-unet\",\"steps\":0}", "steps: must be in [1, 1000]"},
            {"{\"model\":\"mnist-unet\",\"steps\":\"many\"}", "steps: expected a JSON number, got \"many\""},
            {"{\"model\":\"mnist-unet\",\"steps\":\"5\"}", "steps: expected a JSON number, got \"5\""},
            {"{\"model\":\"mnist-unet\",\"karras\":\"yes\"}", "karras: expected a JSON boolean"},
            {"{\"model\":7}", "model: expected a JSON string, got 7"},
            {"{\"model\":\"mnist-unet\",\"batch\":17}", "batch: must be in [1, 16]"},
            {"{\"model\":\"mnist-unet\",\"scale\":9}", "scale: must be in [1, 8]"},
            {"{\"model\":\"mnist-unet\",\"sampler\":\"plms2\"}", "unknown sampler 'plms2'"},
            {"{\"model\":\"mnist-unet\",\"class\":1}", "model 'mnist-unet' is unconditional"},
            {"{\"model\":\"digits-cond\",\"class\":10}", "class: must be in [0, 9]"},
            {"{\"model\":\"digits-cond\",\"guidance\":3}", "guidance: needs a class"},
            {"{\"model\":\"mnist-unet\",\"path\":\"/etc/passwd\"}", "unknown field 'path'"},
            {"{\"model\":\"mnist-unet\",\"seed\":{\"a\":1}}", "seed: expected a JSON number"},
            {"{\"model\":\"mnist-unet\",\"id\":\"../x\"}", "id: 1 to 64 letters"},
            {"{\"model\":\"mnist-unet\",\"format\":\"gif\"}", "format: expected png or json"},
            {"{\"model\":\"mnist-unet\",\"steps\":1,\"steps\":2}", "not valid JSON"},
            {"[1,2]", "expected a JSON object"},
            {"{", "not valid JSON"},
        };
        for (String[] c : cases) {
            HttpResponse<byte[]> r = post(c[0]);
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
            assertThat(json(r.body()).get("error").asText()).as(c[0]).contains(c[1]);
        }
        HttpResponse<String> stream = get("/v1/stream?model=mnist-unet&steps=-1");
        assertThat(stream.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(stream.body()).get("error").asText()).contains("steps");
        // A long value is echoed cut, so an error never grows with the request.
        HttpResponse<byte[]> longName = post("{\"model\":\"" + "m".repeat(50_000) + "\"}");
        assertThat(longName.statusCode()).isEqualTo(400);
        assertThat(json(longName.body()).get("error").asText()).contains("m".repeat(64) + "... (50000 characters)");
        assertThat(longName.body().length).isLessThan(1000);
        HttpResponse<byte[]> form = CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/v1/generate"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mnist-unet\"}")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(form.statusCode()).isEqualTo(415);
        assertThat(json(form.body()).get("error").asText())
                .contains("Content-Type: expected application/json, got 'application/x-www-form-urlencoded'");
        HttpResponse<String> head = CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(head.headers().firstValue("Content-Length").map(Long::parseLong).orElse(0L))
                .isEqualTo(get("/").body().getBytes(StandardCharsets.UTF_8).length);
        HttpResponse<String> wrongMethod = get("/v1/generate");
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.headers().firstValue("Allow")).contains("POST");
        assertThat(get("/../../etc/passwd").statusCode()).isEqualTo(404);
        assertThat(get("/v1/images/nothing.png").statusCode()).isEqualTo(404);
    }

    @Test
    void refusesForeignHostAndOriginHeaders() throws Exception {
        String self = "127.0.0.1:" + server.port();
        try (Socket ok = raw("GET", "/healthz", "localhost:" + server.port(), null)) {
            assertThat(statusLine(ok)).contains("200");
        }
        try (Socket rebinding = raw("GET", "/v1/models", "evil.example:" + server.port(), null)) {
            assertThat(statusLine(rebinding)).contains("403");
        }
        try (Socket otherPort = raw("GET", "/v1/models", "127.0.0.1:1", null)) {
            assertThat(statusLine(otherPort)).contains("403");
        }
        try (Socket cross = raw("GET", "/v1/models", self, "http://evil.example")) {
            assertThat(statusLine(cross)).contains("403");
        }
        try (Socket same = raw("GET", "/v1/models", self, "http://" + self)) {
            assertThat(statusLine(same)).contains("200");
        }
    }

    @Test
    void concurrentRequestsAllCompleteAndAFullQueueAnswers503() throws Exception {
        awaitIdle();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            // Four short requests with a queue of 2: every one that is not refused completes, each with its own seed.
            List<Future<HttpResponse<byte[]>>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int seed = i;
                fs.add(pool.submit(() -> post("{\"model\":\"mnist-unet\",\"steps\":20,\"seed\":" + seed
                        + ",\"batch\":4,\"format\":\"json\"}")));
            }
            int ok = 0;
            int busy = 0;
            List<JsonNode> images = new ArrayList<>();
            for (Future<HttpResponse<byte[]>> f : fs) {
                HttpResponse<byte[]> r = f.get();
                if (r.statusCode() == 200) {
                    ok++;
                    images.add(json(r.body()).get("images"));
                } else {
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.headers().firstValue("Retry-After")).isPresent();
                    assertThat(json(r.body()).get("error").asText()).contains("busy");
                    busy++;
                }
            }
            // One runs and two wait, so at least three of eight are served and (sampling being slower than
            // sending eight requests) some are refused.
            assertThat(ok).isGreaterThanOrEqualTo(3);
            assertThat(busy).isGreaterThan(0);
            assertThat(images).doesNotHaveDuplicates();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void deletingAJobCancelsItsSampling() throws Exception {
        awaitIdle();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            // DDPM over all 1000 steps at batch 16 takes far longer than the test waits.
            Future<HttpResponse<byte[]>> slow = pool.submit(() -> post("{\"model\":\"mnist-unet\",\"sampler\":"
                    + "\"euler-a\",\"steps\":1000,\"batch\":16,\"id\":\"slow-one\"}"));
            HttpResponse<String> del;
            int tries = 0;
            do {
                Thread.sleep(100);
                del = CLIENT.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs/slow-one")).DELETE().build(),
                        HttpResponse.BodyHandlers.ofString());
            } while (del.statusCode() == 404 && ++tries < 100);
            assertThat(del.statusCode()).as(del.body()).isEqualTo(200);
            HttpResponse<byte[]> r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> slow.get());
            assertThat(r.statusCode()).isEqualTo(409);
            assertThat(json(r.body()).get("error").asText()).contains("slow-one", "cancelled");
            awaitIdle();
            assertThat(get("/v1/gallery").body()).doesNotContain("slow-one");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closingAStreamCancelsItsSampling() throws Exception {
        awaitIdle();
        try (Socket s = raw("GET", "/v1/stream?model=mnist-unet&sampler=euler-a&steps=1000&batch=16&id=cut-short",
                "127.0.0.1:" + server.port(), null)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).contains("200");
            String line;
            while ((line = in.readLine()) != null && !line.equals("event: frame")) {
                // headers, then the queued event
            }
            assertThat(line).isEqualTo("event: frame");
        }
        // Without cancellation the job would keep the sampler busy for far longer than awaitIdle waits.
        awaitIdle();
        assertThat(get("/v1/gallery").body()).doesNotContain("cut-short");
    }

    @Test
    void aStreamThatIsNeverReadDoesNotHoldUpOtherRequests() throws Exception {
        awaitIdle();
        try (Socket unread = new Socket()) {
            unread.setReceiveBufferSize(4096);
            unread.connect(new InetSocketAddress("127.0.0.1", server.port()));
            // Big frames (a 4x4 grid at 8x) at every step: megabytes that this client never reads.
            unread.getOutputStream().write(("GET /v1/stream?model=mnist-unet&steps=60&batch=16&scale=8 HTTP/1.1\r\n"
                    + "Host: 127.0.0.1:" + server.port() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            unread.getOutputStream().flush();
            Thread.sleep(200);
            HttpResponse<byte[]> r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> post("{\"model\":\"mnist-unet\",\"steps\":2,\"format\":\"json\"}"));
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(get("/healthz").statusCode()).isEqualTo(200);
        }
    }

    /** A connection that sends part of a request and then nothing: headers cut off, or a body shorter than declared. */
    static Socket slow(boolean headersComplete) throws IOException {
        Socket s = new Socket("127.0.0.1", server.port());
        String part = headersComplete
                ? "POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 1000\r\n\r\n{\"model\":"
                : "GET /healthz HTTP/1.1\r\nHost: 127.0";
        s.getOutputStream().write(part.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    /** True when the server has closed s (end of stream or reset) within the socket's read timeout. */
    static boolean closedByServer(Socket s) {
        try {
            while (true) {
                if (s.getInputStream().read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    static void closeAll(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing is all that is wanted
            }
        }
    }

    @Test
    void healthzStaysFastWhileFiftySlowClientsHangOnAndTheyAreDisconnected() throws Exception {
        awaitIdle();
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                slow.add(slow(i % 8 == 0)); // 7 unfinished bodies: under the per-client cap of 8
            }
            // Well inside the request timeout (6 s in the test JVMs): a server whose threads the slow clients hold
            // answers only once the timeout has freed them.
            assertThat(Server.REQUEST_TIMEOUT_SECONDS).isGreaterThanOrEqualTo(6);
            HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
            for (String path : List.of("/healthz", "/v1/models", "/")) {
                HttpResponse<String> r = fresh.send(HttpRequest.newBuilder(URI.create(base + path))
                        .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(path).isEqualTo(200);
            }
            // Every slow connection is closed once it has had the request timeout to finish its request.
            long deadline = System.nanoTime() + (Server.REQUEST_TIMEOUT_SECONDS + 5) * 1_000_000_000L;
            for (Socket s : slow) {
                s.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                assertThat(closedByServer(s)).as("slow connection closed by the server").isTrue();
            }
        } finally {
            closeAll(slow);
        }
    }

    @Test
    void connectionsBeyondTheCapAreClosedAndTheServerRecovers() throws Exception {
        awaitIdle();
        List<Socket> open = new ArrayList<>();
        try {
            // Silent connections, opened faster than any timeout: the cap, not a timeout, must close the last ones.
            for (int i = 0; i < Server.MAX_CONNECTIONS + 4; i++) {
                open.add(new Socket("127.0.0.1", server.port()));
            }
            List<Boolean> closed = new ArrayList<>();
            for (Socket s : open) {
                s.setSoTimeout(200);
                closed.add(closedByServer(s));
            }
            // The cap closes the newest: a run of open connections (fewer than the cap when earlier tests' closed
            // connections are still being reaped), then only closed ones, at least the four beyond the cap.
            int firstClosed = closed.indexOf(true);
            assertThat(firstClosed).isBetween(1, Server.MAX_CONNECTIONS);
            assertThat(closed.subList(firstClosed, closed.size())).containsOnly(true).hasSizeGreaterThanOrEqualTo(4);
        } finally {
            closeAll(open);
        }
        awaitAnswers("/healthz", 200);
    }

    @Test
    void requestsBeyondThePerClientCapAre429ButHealthzIsAnswered() throws Exception {
        awaitIdle();
        List<Socket> held = new ArrayList<>();
        try {
            // Bodies that never finish: each holds a request in progress from this address.
            for (int i = 0; i < 8; i++) {
                held.add(slow(true));
            }
            HttpResponse<String> over = awaitAnswers("/v1/models", 429);
            assertThat(JSON.readTree(over.body()).get("error").asText()).contains("at most 8");
            assertThat(over.headers().firstValue("Retry-After")).isPresent();
            assertThat(get("/healthz").statusCode()).isEqualTo(200);
        } finally {
            closeAll(held);
        }
        awaitAnswers("/v1/models", 200);
    }

    /** Polls path until it answers status (the server frees a slot only after it notices a client left). */
    static HttpResponse<String> awaitAnswers(String path, int status) throws Exception {
        HttpResponse<String> r = null;
        for (int i = 0; i < 100; i++) {
            r = get(path);
            if (r.statusCode() == status) {
                return r;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(path + " still answers " + r.statusCode() + " after 10 s: " + r.body());
    }
}
