package org.diffusion4j.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A loopback HTTP server of in-memory files for download tests, with scripted faults per folder:
 * {@code /good/} serves files (honouring Range), {@code /broken/} answers 503, {@code /redirect/} answers 302 to
 * {@code /good/}, {@code /slow/} sends the headers and 100 bytes then stalls for 3 s, {@code /truncated/} sends half
 * of a file on its first request and honours Range after, {@code /wrong/} serves {@link #wrong} instead.
 */
public final class FileServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final Map<String, byte[]> files;
    private final Map<String, byte[]> wrong;
    private final Map<String, Integer> truncatedServed = new ConcurrentHashMap<>();
    /** Every request as "METHOD PATH Range: VALUE" (Range when sent). */
    public final List<String> requests = new CopyOnWriteArrayList<>();

    public FileServer(Map<String, byte[]> files, Map<String, byte[]> wrong) throws IOException {
        this.files = files;
        this.wrong = wrong;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The folder URI for one behaviour, e.g. {@code folder("good")}. */
    public URI folder(String behaviour) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/" + behaviour + "/");
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String range = ex.getRequestHeaders().getFirst("Range");
            String path = ex.getRequestURI().getPath();
            requests.add(ex.getRequestMethod() + " " + path + (range != null ? " Range: " + range : ""));
            String[] parts = path.split("/", 3);
            String behaviour = parts.length > 1 ? parts[1] : "";
            String name = parts.length > 2 ? parts[2] : "";
            byte[] body = (behaviour.equals("wrong") && wrong.containsKey(name) ? wrong : files).get(name);
            switch (behaviour) {
                case "broken" -> {
                    ex.sendResponseHeaders(503, -1);
                    return;
                }
                case "redirect" -> {
                    ex.getResponseHeaders().add("Location", "/good/" + name);
                    ex.sendResponseHeaders(302, -1);
                    return;
                }
                default -> { }
            }
            if (body == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            if (behaviour.equals("slow")) {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body, 0, 100);
                ex.getResponseBody().flush();
                sleep(3000);
                return;
            }
            if (behaviour.equals("truncated") && truncatedServed.merge(name, 1, Integer::sum) == 1) {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body, 0, body.length / 2);
                return;
            }
            long from = range != null ? Long.parseLong(range.replaceAll("bytes=(\\d+)-.*", "$1")) : 0;
            if (from >= body.length && from > 0) {
                ex.sendResponseHeaders(416, -1);
                return;
            }
            if (from > 0) {
                ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/"
                        + body.length);
            }
            ex.sendResponseHeaders(from > 0 ? 206 : 200, body.length - from);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body, (int) from, (int) (body.length - from));
            }
        } catch (IOException e) {
            // The client hung up (the slow and truncated cases do that on purpose).
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
