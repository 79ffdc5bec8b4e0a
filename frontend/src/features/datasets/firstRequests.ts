/**
 * Requests the Datasets page needs first, started by a small script in index.html before the app's code has
 * even loaded (frontend/vite.config.ts injects it): on a first visit the dataset list and the first page of
 * images are on their way while the browser still downloads and parses the app. The page then takes those
 * answers instead of asking again (`takePrefetched` in ./prefetch.ts).
 *
 * `firstRequests` is injected into index.html as source text, so it must use nothing from outside itself.
 * This file is plain (no DOM types): frontend/vite.config.ts imports it to build the script.
 */

/** The first page of images is small so the first thumbnails come fast; the rest load behind it. */
export const FIRST_PAGE = 120;

/** The GET URLs the Datasets page asks for first at this address (none for other pages). */
export function firstRequests(pathname: string, firstPage: number): string[] {
  const match = /^\/datasets\/([^/]+)/.exec(pathname);
  if (!match) return /^\/datasets\/?$/.test(pathname) ? ["/api/datasets"] : [];
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch {
    return ["/api/datasets"];
  }
  const images = `/api/datasets/${encodeURIComponent(name)}/images?offset=0&limit=${firstPage}`;
  return ["/api/datasets", images];
}

/**
 * The inline script for index.html: start `firstRequests` for this address and preload `modules` (the Datasets
 * page's code). When the first page of images arrives, it also asks for the thumbnails of about one screen
 * (an estimate from the window's size: the page's grid is about the window less 600 px wide, cells 184 x 262
 * px), so they are on their way, or cached, by the time the grid asks for them.
 */
export function prefetchScript(firstPage: number, modules: string[]): string {
  return `(function(){try{var u=(${firstRequests.toString()})(location.pathname,${firstPage});
if(!u.length)return;var s=window.__lkPrefetch={};
u.forEach(function(x){s[x]={at:performance.now(),response:fetch(x,{credentials:"same-origin"})}});
${JSON.stringify(modules)}.forEach(function(h){var l=document.createElement("link");var css=/\\.css$/.test(h);
l.rel=css?"preload":"modulepreload";if(css)l.as="style";l.crossOrigin="";l.href=h;document.head.appendChild(l)});
var page=u[1];if(!page)return;var base=page.slice(0,page.indexOf("/images?"));
var n=Math.max(1,Math.floor((innerWidth-600)/184))*Math.ceil(innerHeight/262);
s[page].response.then(function(r){return r.ok?r.clone().json():null}).then(function(p){
(p&&p.items||[]).slice(0,n).forEach(function(i){var m=new Image();m.decoding="async";
m.src=base+"/thumbnail?"+new URLSearchParams({path:i.path}).toString()})}).catch(function(){});
}catch(e){}})();`;
}
