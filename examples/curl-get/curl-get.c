/* examples/curl-get: the C counterpart of "a reqwest GET run by wasmtime":
 * libcurl's easy interface fetches a URL and prints the body. Built by
 * `tools/wasio-cc -o curl-get.wasm curl-get.c -lcurl` (`make curl`); run:
 *   tools/wasio-run --net --certs build/wasm32/examples/curl-get.wasm https://example.org/
 * HTTPS trusts the Mozilla roots: libcurl's default bundle,
 * /etc/ssl/certs/ca-certificates.crt, which --certs preopens; a second
 * argument names another CA file. On failure curl's message goes to stderr
 * and the exit status is curl's error code. */
#include <stdio.h>
#include <curl/curl.h>

static size_t on_body(char *data, size_t size, size_t n, void *user) {
  return fwrite(data, size, n, (FILE *)user) * size;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: curl-get URL [CA-FILE]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = curl_easy_init();
  if (curl == NULL) return 1;
  curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, stdout);
  if (argc == 3) curl_easy_setopt(curl, CURLOPT_CAINFO, argv[2]);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) fprintf(stderr, "curl-get: %s (curl error %d)\n", curl_easy_strerror(rc), (int)rc);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  return rc == CURLE_OK ? 0 : (int)rc;
}
