// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on the web site's pages
// behaviour (the distribution's default, lib/web-site.ts). No module system: CloudFront calls
// `handler`; test/web.test.ts runs this file as it is.
//
//  - "/console" answers 301 -> "/console/" (the console's relative URLs resolve under it);
//  - a URI ending in "/" gets "index.html" appended ("/" -> "/index.html",
//    "/console/" -> "/console/index.html"), so no request reaches the bucket root: CloudFront may
//    list the bucket (so that a missing object answers 404, not 403), and a request for the root
//    would list it;
//  - everything else is passed on unchanged (a missing object: S3's 404).
//
// The citizen site and the console route on the client with hash routes (#/...), so no other path
// needs to be mapped to a page.

var APPS = ['/console'];

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (APPS.indexOf(uri) >= 0) {
    return {
      statusCode: 301,
      statusDescription: 'Moved Permanently',
      headers: { location: { value: uri + '/' }, 'cache-control': { value: 'max-age=3600' } },
    };
  }
  if (uri.charAt(uri.length - 1) === '/') {
    request.uri = uri + 'index.html';
  }
  return request;
}
